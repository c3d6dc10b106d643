"""Reading ECG recordings from any source into ``[leads, samples]`` millivolts.

* WFDB: ``RECORD.hea`` with ``.dat`` or ``.mat`` signals (PTB-XL, PTB, PhysioNet challenges).
* ``.npy``: a 2-D array, with ``fs`` and ``leads`` given by the caller.
* CSV: one column per lead with lead names in the header (a ``time`` column is ignored);
  ``fs`` given by the caller.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.errors import DataError, UsageError
from runtime.leads import canonical_lead, parse_lead_list
from runtime.wfdb_io import read_physical

MAX_CSV_BYTES = 512 * 1024**2


@dataclass
class Recording:
    """A recording in mV with its rate and the source's lead names."""

    signal: np.ndarray  # float32 [leads, samples]
    fs: float
    leads: tuple[str, ...]
    source: str


def read_recording(path: str | Path, fs: float | None = None, leads: str | None = None) -> Recording:
    """Read a recording by its extension; ``fs``/``leads`` are required for ``.npy`` and ``fs`` for CSV."""
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix in (".hea", ".dat", ".mat") or (not suffix and source.with_suffix(".hea").exists()):
        record = source.with_suffix("")
        signal, header = read_physical(record)
        return Recording(signal, header.fs, header.names, str(source))
    if not source.is_file():
        raise DataError(f"{source}: file not found")
    if suffix == ".npy":
        return _read_npy(source, fs, leads)
    if suffix in (".csv", ".txt"):
        return _read_csv(source, fs)
    raise DataError(f"{source}: unknown recording type {suffix!r}; use WFDB (.hea + .dat/.mat), .npy or .csv")


def _read_npy(source: Path, fs: float | None, leads: str | None) -> Recording:
    if fs is None or leads is None:
        raise UsageError(f"{source}: a .npy recording needs --fs and --leads (e.g. --fs 500 --leads I,II,III,...)")
    names = parse_lead_list(leads)
    try:
        array = np.load(source, allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise DataError(f"{source}: not a readable .npy array ({' '.join(str(exc).split())[:100]})") from None
    if array.ndim != 2:
        raise DataError(f"{source}: expected a 2-D array [leads, samples], got shape {array.shape}")
    if array.shape[0] != len(names) and array.shape[1] == len(names):
        array = array.T
    if array.shape[0] != len(names):
        raise DataError(f"{source}: array has shape {array.shape} but --leads names {len(names)} leads")
    if not np.issubdtype(array.dtype, np.number):
        raise DataError(f"{source}: array dtype {array.dtype} is not numeric")
    return Recording(array.astype(np.float32), float(fs), names, str(source))


def _read_csv(source: Path, fs: float | None) -> Recording:
    if fs is None:
        raise UsageError(f"{source}: a CSV recording needs --fs (its sampling rate in Hz)")
    if source.stat().st_size > MAX_CSV_BYTES:
        raise DataError(f"{source}: {source.stat().st_size} bytes is too large for a CSV recording")
    with source.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            raise DataError(f"{source}: empty CSV; expected a header with lead names")
        columns = [(i, canonical_lead(name)) for i, name in enumerate(header)]
        used = [(i, name) for i, name in columns if name is not None]
        if not used:
            raise DataError(f"{source}: no column is a lead name (header: {', '.join(header[:8])})")
        rows = []
        for line_number, row in enumerate(reader, start=2):
            if not row:
                continue
            try:
                rows.append([float(row[i]) for i, _ in used])
            except (ValueError, IndexError):
                raise DataError(f"{source} line {line_number}: non-numeric or missing value in a lead column") from None
    if not rows:
        raise DataError(f"{source}: no samples after the header")
    signal = np.asarray(rows, dtype=np.float32).T
    return Recording(signal, float(fs), tuple(name for _, name in used if name), str(source))
