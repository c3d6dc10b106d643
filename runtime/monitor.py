"""``runtime monitor``: stream a long recording through a ring buffer, one result per hop.

This is the continuous-monitoring use: samples arrive in chunks (a file read piecewise,
or CSV lines on stdin); the last window's worth of samples is kept in a ring buffer at the
source rate; every hop (default 2 s) the buffer is resampled, classified and reported with
the inference latency.  A bad chunk (NaN/Inf, wrong width, text) is reported and skipped;
the stream goes on.  At the end the real-time factor (stream seconds per second of
processing) is reported.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TextIO

import numpy as np

from runtime.classifier import Classifier
from runtime.errors import DataError, ToolkitError, UsageError


@dataclass
class Chunk:
    """Samples ``[leads, n]`` (or the reason they are unusable)."""

    samples: np.ndarray | None
    problem: str | None = None


def chunks_from_array(signal: np.ndarray, size: int) -> Iterator[Chunk]:
    """Split a recording into consecutive chunks of ``size`` samples."""
    for start in range(0, signal.shape[1], size):
        yield Chunk(signal[:, start : start + size])


def chunks_from_text(stream: TextIO, leads: int, size: int) -> Iterator[Chunk]:
    """Read CSV lines (one sample of every lead per line) and group them into chunks."""
    rows: list[list[float]] = []
    problem: str | None = None
    for number, line in enumerate(stream, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.split(",")
        try:
            values = [float(p) for p in parts]
            if len(values) != leads:
                raise ValueError(f"{len(values)} values, expected {leads}")
        except ValueError as exc:
            problem = problem or f"line {number}: {' '.join(str(exc).split())[:60]}"
            values = [float("nan")] * leads
        rows.append(values)
        if len(rows) == size:
            yield Chunk(np.asarray(rows, dtype=np.float32).T, problem)
            rows, problem = [], None
    if rows:
        yield Chunk(np.asarray(rows, dtype=np.float32).T, problem)


class RingBuffer:
    """The most recent ``capacity`` samples of every lead."""

    def __init__(self, leads: int, capacity: int) -> None:
        self.data = np.zeros((leads, capacity), dtype=np.float32)
        self.capacity = capacity
        self.filled = 0

    def push(self, samples: np.ndarray) -> None:
        n = samples.shape[1]
        if n >= self.capacity:
            self.data[:] = samples[:, -self.capacity :]
        else:
            self.data = np.roll(self.data, -n, axis=1)
            self.data[:, -n:] = samples
        self.filled = min(self.capacity, self.filled + n)

    @property
    def full(self) -> bool:
        return self.filled >= self.capacity


def monitor(
    classifier: Classifier,
    chunks: Iterator[Chunk],
    fs: float,
    leads: tuple[str, ...],
    hop_s: float,
    realtime: bool = False,
    emit: Any = None,
) -> dict[str, Any]:
    """Run the stream; call ``emit(result)`` per hop; return the summary."""
    if hop_s <= 0:
        raise UsageError(f"--hop-s must be positive, got {hop_s}")
    window_s = classifier.card.window / classifier.card.fs
    buffer = RingBuffer(len(leads), int(round(window_s * fs)))
    stream_seconds = 0.0
    compute = 0.0
    results = 0
    bad = 0
    started = time.perf_counter()
    for chunk in chunks:
        assert chunk.samples is not None
        duration = chunk.samples.shape[1] / fs
        if realtime:
            delay = started + stream_seconds + duration - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        stream_seconds += duration
        problem = chunk.problem
        if problem is None and not np.isfinite(chunk.samples).all():
            lead = int(np.argwhere(~np.isfinite(chunk.samples).all(axis=1))[0][0])
            problem = f"NaN/Inf samples in lead {leads[lead]}"
        if problem is not None:
            bad += 1
            (emit or _print)({"t": round(stream_seconds, 3), "error": f"bad chunk skipped: {problem}"})
            continue
        buffer.push(chunk.samples)
        if not buffer.full:
            continue
        t0 = time.perf_counter()
        try:
            prediction = classifier.predict(buffer.data, fs, leads, source="stream")
        except ToolkitError as exc:
            bad += 1
            (emit or _print)({"t": round(stream_seconds, 3), "error": str(exc)})
            continue
        latency = time.perf_counter() - t0
        compute += latency
        results += 1
        (emit or _print)({"t": round(stream_seconds, 3), "detected": prediction.detected,
                          "probabilities": {k: round(v, 4) for k, v in prediction.probabilities.items()},
                          "latency_ms": round(latency * 1000, 3), "warnings": prediction.warnings})  # fmt: skip
    if results == 0 and stream_seconds < window_s:
        raise DataError(f"the stream lasted {stream_seconds:.1f} s, shorter than one {window_s:g} s window")
    return {
        "stream_seconds": round(stream_seconds, 3),
        "results": results,
        "bad_chunks": bad,
        "inference_seconds": round(compute, 4),
        "real_time_factor": round(stream_seconds / compute, 1) if compute else None,
        "wall_seconds": round(time.perf_counter() - started, 3),
    }


def _print(result: dict[str, Any]) -> None:
    sys.stdout.write(f"{result}\n")
