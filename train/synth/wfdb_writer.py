"""A minimal, fast writer of WFDB format-16 records (the format PTB-XL uses).

``wfdb.wrsamp`` would do, but it is slow for tens of thousands of records; this writes
the same header and little-endian interleaved int16 samples, which ``wfdb`` reads back.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np


def wfdb_checksum(samples: np.ndarray) -> int:
    """The 16-bit signed sum WFDB stores for each signal."""
    total = int(np.sum(samples, dtype=np.int64)) & 0xFFFF
    return total - 0x10000 if total > 0x7FFF else total


def write_record(
    folder: Path, name: str, digital: np.ndarray, fs: int, lead_names: Sequence[str], gain: float = 1000.0
) -> None:
    """Write ``name.hea`` and ``name.dat`` for ``digital[leads, samples]`` int16 (``gain`` units per mV)."""
    leads, samples = digital.shape
    lines = [f"{name} {leads} {fs} {samples}"]
    for lead, signal in zip(lead_names, digital, strict=True):
        lines.append(f"{name}.dat 16 {gain:.1f}(0)/mV 16 0 {int(signal[0])} {wfdb_checksum(signal)} 0 {lead}")
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")
    (folder / f"{name}.dat").write_bytes(np.ascontiguousarray(digital.T).astype("<i2").tobytes())
