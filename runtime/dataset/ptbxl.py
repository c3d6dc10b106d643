"""Reading a PTB-XL folder: ``ptbxl_database.csv``, ``scp_statements.csv`` and WFDB records.

Works for the v1.0.1 and v1.0.3 layouts (same columns, ``records100/`` and
``records500/``).  Every record path from the CSV is checked to stay inside the
dataset folder before anything is opened.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.dataset.scp import parse_scp_codes
from runtime.errors import DataError
from runtime.leads import STANDARD_LEADS, canonical_lead
from runtime.wfdb_io import WFDB_MISSING, read_digital, read_header

DATABASE_CSV = "ptbxl_database.csv"
STATEMENTS_CSV = "scp_statements.csv"
REQUIRED_COLUMNS = ("ecg_id", "patient_id", "scp_codes", "strat_fold", "filename_lr", "filename_hr")
FILENAME_COLUMN = {100: "filename_lr", 500: "filename_hr"}
RECORD_SECONDS = 10
MAX_RECORD_SAMPLES = 1000 * 60 * 10  # 10 minutes at 1 kHz: anything longer is not a PTB-XL record


@dataclass(frozen=True)
class DatabaseRow:
    """One row of ``ptbxl_database.csv`` with the fields the toolkit uses."""

    ecg_id: int
    patient_id: int
    scp_codes: dict[str, float]
    strat_fold: int
    filename: str
    age: float | None
    sex: int | None
    line: int = 0


def is_ptbxl_folder(path: str | Path) -> bool:
    """True if ``path`` looks like a PTB-XL folder (has the database CSV)."""
    return (Path(path) / DATABASE_CSV).is_file()


def dataset_version(root: str | Path) -> str:
    """Best-effort dataset version: the synthetic marker, a version in the folder name, or 'unknown'."""
    root = Path(root)
    marker = root / "SYNTHETIC.json"
    if marker.is_file():
        import json

        try:
            return str(json.loads(marker.read_text())["version"])
        except (ValueError, KeyError) as exc:
            raise DataError(f"{marker} is not valid JSON with a 'version' key ({exc})") from exc
    match = re.search(r"(\d+\.\d+\.\d+)", root.resolve().name)
    return match.group(1) if match else "unknown"


def _int_field(value: str, column: str, path: Path, line: int) -> int:
    try:
        number = float(value)
    except ValueError:
        raise DataError(f"{path} line {line}: column {column} has {value!r}, expected a number") from None
    if not np.isfinite(number) or number != int(number):
        raise DataError(f"{path} line {line}: column {column} has {value!r}, expected a whole number")
    return int(number)


def _optional_float(value: str) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def read_database(root: str | Path, fs: int) -> list[DatabaseRow]:
    """Parse ``ptbxl_database.csv`` (BOM and CRLF tolerated) into rows for rate ``fs``."""
    if fs not in FILENAME_COLUMN:
        raise DataError(f"PTB-XL has records at 100 and 500 Hz, not {fs}; use --fs 100 or --fs 500")
    path = Path(root) / DATABASE_CSV
    if not path.is_file():
        raise DataError(f"{path} not found; pass the PTB-XL folder that holds {DATABASE_CSV}")
    rows: list[DatabaseRow] = []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        missing = [column for column in REQUIRED_COLUMNS if column not in fields]
        if missing:
            raise DataError(f"{path}: missing column(s) {', '.join(missing)}; is this PTB-XL's database CSV?")
        for line, row in enumerate(reader, start=2):
            try:
                codes = parse_scp_codes(row["scp_codes"] or "")
            except DataError as exc:
                raise DataError(f"{path} line {line}: {exc}") from None
            fold = _int_field(row["strat_fold"], "strat_fold", path, line)
            if not 1 <= fold <= 10:
                raise DataError(f"{path} line {line}: strat_fold {fold} is outside 1-10")
            sex = _optional_float(row.get("sex", ""))
            rows.append(
                DatabaseRow(
                    ecg_id=_int_field(row["ecg_id"], "ecg_id", path, line),
                    patient_id=_int_field(row["patient_id"], "patient_id", path, line),
                    scp_codes=codes,
                    strat_fold=fold,
                    filename=(row[FILENAME_COLUMN[fs]] or "").strip(),
                    age=_optional_float(row.get("age", "")),
                    sex=None if sex is None else int(sex),
                    line=line,
                )
            )
    if not rows:
        raise DataError(f"{path} has no records")
    ids = [row.ecg_id for row in rows]
    if len(set(ids)) != len(ids):
        raise DataError(f"{path}: ecg_id values are not unique")
    return rows


def safe_record_path(root: str | Path, filename: str) -> Path:
    """Resolve a record name from the CSV inside ``root``; refuse anything that escapes it."""
    if not filename:
        raise DataError("empty record filename in the database CSV")
    if "\x00" in filename or Path(filename).is_absolute() or filename.startswith(("/", "\\")):
        raise DataError(f"record path {filename!r} is absolute; PTB-XL paths are relative to the dataset folder")
    base = Path(root).resolve()
    target = (base / filename).resolve()
    if base != target and base not in target.parents:
        raise DataError(f"record path {filename!r} points outside the dataset folder {base}")
    return target


@dataclass(frozen=True)
class RawRecord:
    """Digital samples of one record as stored: ``[12, samples]`` int16 plus calibration."""

    digital: np.ndarray
    gain: np.ndarray
    baseline: np.ndarray


def read_wfdb_record(
    path: str | Path, fs: int, samples: int | None, max_samples: int = MAX_RECORD_SAMPLES
) -> RawRecord:
    """Read one 12-lead WFDB record at its stored resolution, checking it against the request.

    Raises ``DataError`` naming the file for a missing or truncated signal file, a
    header whose rate, lead count or length disagrees, zero gain, or missing samples.
    """
    header_path = Path(str(path) + ".hea")
    header = read_header(header_path, max_samples)
    if abs(header.fs - fs) > 1e-6:
        raise DataError(
            f"{header_path}: sampling rate {header.fs:g} Hz, expected {fs} Hz; use --fs {header.fs:g} or the matching records folder"
        )
    if len(header.signals) != len(STANDARD_LEADS):
        raise DataError(f"{header_path}: {len(header.signals)} leads, expected 12")
    if samples is not None and header.samples != samples:
        raise DataError(f"{header_path}: {header.samples} samples, expected {samples} ({samples / fs:g} s at {fs} Hz)")
    names = [canonical_lead(name) for name in header.names]
    if sorted(n for n in names if n) != sorted(STANDARD_LEADS):
        raise DataError(f"{header_path}: leads {', '.join(header.names)} are not the 12 standard leads")
    digital = read_digital(header_path, header)
    if np.any(digital == WFDB_MISSING):
        raise DataError(f"{header_path}: signal has missing samples (WFDB NaN marker); repair or skip the record")
    if digital.min() < -32768 or digital.max() > 32767:
        raise DataError(f"{header_path}: samples exceed the int16 range")
    order = [names.index(lead) for lead in STANDARD_LEADS]
    return RawRecord(
        digital=np.ascontiguousarray(digital[order].astype(np.int16)),
        gain=np.array([header.signals[i].gain for i in order], dtype=np.float32),
        baseline=np.array([header.signals[i].baseline for i in order], dtype=np.float32),
    )


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:160]
