"""Peak resident memory per model on Linux: reset the high-water mark, run, read VmHWM."""

from __future__ import annotations

import resource
from pathlib import Path


def reset_peak() -> bool:
    """Reset this process's peak-RSS counter (Linux >= 4.0); False where unsupported."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    """Peak resident set size in MiB since the last reset (or process start)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
