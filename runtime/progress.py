"""A dependency-free progress line on stderr (epochs, records, calibration, iterations)."""

from __future__ import annotations

import sys
import time


class Progress:
    """Report ``done/total`` with a rate on stderr, at most a few times a second.

    On a terminal it redraws one line; in logs (no tty) it prints a line every 10%.
    """

    def __init__(self, total: int, label: str, enabled: bool = True) -> None:
        self.total = max(int(total), 0)
        self.label = label
        self.enabled = enabled
        self.done = 0
        self.start = time.perf_counter()
        self._last = 0.0
        self._tty = sys.stderr.isatty()
        self._next_decile = 1

    def update(self, n: int = 1, info: str = "") -> None:
        """Advance by ``n`` and redraw if due."""
        self.done += n
        if not self.enabled:
            return
        now = time.perf_counter()
        if self._tty:
            if now - self._last > 0.2 or self.done >= self.total:
                self._last = now
                sys.stderr.write("\r" + self._line(now, info))
                sys.stderr.flush()
        elif self.total and self.done * 10 >= self._next_decile * self.total:
            while self.done * 10 >= self._next_decile * self.total:
                self._next_decile += 1
            sys.stderr.write(self._line(now, info) + "\n")

    def close(self, info: str = "") -> None:
        """Finish the line."""
        if self.enabled and self._tty:
            sys.stderr.write("\r" + self._line(time.perf_counter(), info) + "\n")
            sys.stderr.flush()

    def _line(self, now: float, info: str) -> str:
        elapsed = max(now - self.start, 1e-9)
        rate = self.done / elapsed
        extra = f" {info}" if info else ""
        return f"{self.label}: {self.done}/{self.total} ({rate:.1f}/s, {elapsed:.1f}s){extra}"


def log(message: str) -> None:
    """One progress message on stderr."""
    end_line()
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


_open_line = False


def inline(message: str) -> None:
    """Redraw one status line in place (no newline); the next ``log`` or error starts a new line."""
    global _open_line
    sys.stderr.write("\r" + message)
    sys.stderr.flush()
    _open_line = True


def end_line() -> None:
    """Terminate a pending ``inline`` status line."""
    global _open_line
    if _open_line:
        sys.stderr.write("\n")
        sys.stderr.flush()
        _open_line = False
