"""Fast, checked reading of WFDB records (header + signal file), torch-free.

Format 16 (PTB-XL, PTB) and format 16 with a byte offset (MATLAB v4 ``.mat`` from the
PhysioNet challenges) are read directly with numpy, which is ~100x faster than
``wfdb.rdrecord`` for PTB-XL's 21,799 small records; other formats fall back to ``wfdb``.
Every header field is validated before any sample is allocated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.errors import DataError

MAX_HEADER_BYTES = 1 << 20
MAX_SIGNALS = 64
DEFAULT_MAX_SAMPLES = 1000 * 60 * 60 * 2  # two hours at 1 kHz per signal
WFDB_MISSING = -32768
_SIGNAL_FORMAT = re.compile(r"^(\d+)(?:x(\d+))?(?::(\d+))?(?:\+(\d+))?$")
_GAIN = re.compile(r"^([-+0-9.eE]+)(?:\(([-+0-9]+)\))?(?:/(\S+))?$")


@dataclass(frozen=True)
class SignalSpec:
    """One signal line of a WFDB header."""

    file_name: str
    fmt: int
    byte_offset: int
    gain: float
    baseline: int
    units: str
    name: str


@dataclass(frozen=True)
class Header:
    """A parsed WFDB header."""

    record: str
    fs: float
    samples: int
    signals: tuple[SignalSpec, ...]
    comments: tuple[str, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(signal.name for signal in self.signals)


def read_header(path: str | Path, max_samples: int = DEFAULT_MAX_SAMPLES) -> Header:
    """Parse and validate ``RECORD.hea`` (single-segment records)."""
    header = Path(path)
    if header.suffix != ".hea":
        header = header.with_name(header.name + ".hea")
    if not header.is_file():
        raise DataError(f"{header}: WFDB header not found")
    if header.stat().st_size > MAX_HEADER_BYTES:
        raise DataError(f"{header}: header is {header.stat().st_size} bytes, not a WFDB header")
    try:
        text = header.read_text(encoding="utf-8-sig", errors="strict")
    except UnicodeDecodeError:
        raise DataError(f"{header}: header is not text; is this a WFDB .hea file?") from None
    lines = [line.strip() for line in text.replace("\r", "\n").split("\n")]
    comments = tuple(line.lstrip("#").strip() for line in lines if line.startswith("#"))
    body = [line for line in lines if line and not line.startswith("#")]
    if not body:
        raise DataError(f"{header}: empty header")
    fields = body[0].split()
    if len(fields) < 2 or "/" in fields[0]:
        raise DataError(
            f"{header}: record line {body[0][:60]!r} is not 'name nsig fs samples' (multi-segment records unsupported)"
        )
    try:
        count = int(fields[1])
        fs = float(fields[2].split("/")[0].split("(")[0]) if len(fields) > 2 else 250.0
        samples = int(fields[3]) if len(fields) > 3 else 0
    except ValueError:
        raise DataError(f"{header}: record line {body[0][:60]!r} has non-numeric fields") from None
    if not 0 < count <= MAX_SIGNALS:
        raise DataError(f"{header}: declares {count} signals (expected 1-{MAX_SIGNALS})")
    if not np.isfinite(fs) or fs <= 0:
        raise DataError(f"{header}: sampling rate {fs} must be positive")
    if not 0 < samples <= max_samples:
        raise DataError(f"{header}: declares {samples} samples per signal, outside 1-{max_samples}")
    if len(body) < 1 + count:
        raise DataError(f"{header}: declares {count} signals but has {len(body) - 1} signal lines")
    signals = tuple(_signal_line(header, line) for line in body[1 : 1 + count])
    return Header(record=fields[0], fs=fs, samples=samples, signals=signals, comments=comments)


def _signal_line(header: Path, line: str) -> SignalSpec:
    parts = line.split()
    if len(parts) < 2:
        raise DataError(f"{header}: signal line {line[:60]!r} lacks a format")
    match = _SIGNAL_FORMAT.match(parts[1])
    if match is None:
        raise DataError(f"{header}: signal format {parts[1]!r} not understood")
    if match.group(2) and int(match.group(2)) != 1:
        raise DataError(f"{header}: signal format {parts[1]!r} stores {match.group(2)} samples per frame (a multi-rate "
                        "record); not supported: convert it to one rate first (wfdb.rdrecord(..., smooth_frames=True))")  # fmt: skip
    if match.group(3) and int(match.group(3)) != 0:
        raise DataError(f"{header}: signal format {parts[1]!r} has skew {match.group(3)}; not supported: "
                        "rewrite the record without skew (wfdb.wrsamp)")  # fmt: skip
    gain, baseline, units = 200.0, 0, "mV"
    if len(parts) > 2:
        gain_match = _GAIN.match(parts[2])
        if gain_match is None:
            raise DataError(f"{header}: gain field {parts[2]!r} not understood")
        gain = float(gain_match.group(1))
        adc_zero = int(parts[4]) if len(parts) > 4 and parts[4].lstrip("-").isdigit() else 0
        baseline = int(gain_match.group(2)) if gain_match.group(2) else adc_zero
        units = gain_match.group(3) or "mV"
    if not np.isfinite(gain) or gain <= 0:
        raise DataError(
            f"{header}: gain {parts[2] if len(parts) > 2 else gain} of signal {line[:30]!r} must be positive"
        )
    name = " ".join(parts[8:]) if len(parts) > 8 else f"signal{len(parts)}"
    file_name = parts[0]
    if Path(file_name).name != file_name or file_name in ("", ".", ".."):
        raise DataError(f"{header}: signal file {file_name!r} must be a plain file name next to the header")
    return SignalSpec(file_name, int(match.group(1)), int(match.group(4) or 0), gain, baseline, units, name)


def read_digital(header_path: str | Path, header: Header) -> np.ndarray:
    """Samples ``[signals, samples]`` as stored (int), checked against the header."""
    folder = Path(header_path).parent
    files = {signal.file_name for signal in header.signals}
    for file_name in files:
        if not (folder / file_name).is_file():
            raise DataError(f"{folder / file_name}: signal file listed in the header not found")
    if all(signal.fmt == 16 for signal in header.signals):
        return _read_format16(folder, header)
    return _read_with_wfdb(Path(header_path), header)


def _read_format16(folder: Path, header: Header) -> np.ndarray:
    """Format 16 (little-endian int16, samples interleaved per file), one or several files."""
    files: dict[str, list[int]] = {}
    for index, signal in enumerate(header.signals):
        files.setdefault(signal.file_name, []).append(index)
    result = np.zeros((len(header.signals), header.samples), dtype=np.int16)
    for file_name, members in files.items():
        data_file = folder / file_name
        offset = header.signals[members[0]].byte_offset
        expected = offset + header.samples * len(members) * 2
        size = data_file.stat().st_size
        if size < expected:
            raise DataError(
                f"{data_file}: {size} bytes but the header needs {expected} "
                f"({header.samples} samples x {len(members)} signals); the file is truncated"
            )
        raw = np.fromfile(data_file, dtype="<i2", count=header.samples * len(members), offset=offset)
        result[members] = raw.reshape(header.samples, len(members)).T
    return result


def _read_with_wfdb(header_path: Path, header: Header) -> np.ndarray:
    try:
        import wfdb
    except ImportError:  # optional on devices: the formats PTB-XL and most exports use are read natively
        formats = sorted({str(s.fmt) for s in header.signals})
        raise DataError(
            f"{header_path}: WFDB format {', '.join(formats)} is read through the wfdb package, which is not "
            "installed; pip install 'ecg-shrink[formats]' (or convert the record to format 16)"
        ) from None

    try:
        record = wfdb.rdrecord(str(header_path.with_suffix("")), physical=False, return_res=32)
    except Exception as exc:
        raise DataError(
            f"{header_path}: signal file unreadable or truncated ({' '.join(str(exc).split())[:120]})"
        ) from None
    digital = np.asarray(record.d_signal)
    if digital.shape != (header.samples, len(header.signals)):
        raise DataError(
            f"{header_path}: signal holds {digital.shape} samples, header declares {(header.samples, len(header.signals))}"
        )
    return digital.T


def read_physical(path: str | Path, max_samples: int = DEFAULT_MAX_SAMPLES) -> tuple[np.ndarray, Header]:
    """A record in physical units (mV where the header says so): ``[signals, samples]`` float32.

    Missing samples (WFDB's -32768 marker) become NaN so callers can refuse them by lead.
    """
    header = read_header(path, max_samples)
    header_path = Path(path) if Path(path).suffix == ".hea" else Path(str(path) + ".hea")
    digital = read_digital(header_path, header)
    gains = np.array([s.gain for s in header.signals], dtype=np.float64)[:, None]
    baselines = np.array([s.baseline for s in header.signals], dtype=np.float64)[:, None]
    physical = (digital.astype(np.float64) - baselines) / gains
    scale = np.array([1000.0 if s.units.lower() in ("uv", "µv") else 1.0 for s in header.signals])[:, None]
    physical = physical / scale
    physical[digital == WFDB_MISSING] = np.nan
    return physical.astype(np.float32), header
