"""The prepared-dataset cache: read PTB-XL once, memory-map it afterwards.

Layout of a cache folder (written atomically: a temp folder renamed into place)::

    manifest.json   source, dataset version, label protocol, fs, classes, split, hash
    signals.npy     int16 [N, 12, samples] at stored resolution
    gain.npy        float32 [N, 12] ADC units per mV      baseline.npy  float32 [N, 12]
    labels.npy      uint8 [N, 5]      ecg_id.npy / patient_id.npy int64 [N]   fold.npy int8 [N]
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runtime.atomic import atomic_directory
from runtime.dataset.ptbxl import (
    DATABASE_CSV,
    RECORD_SECONDS,
    STATEMENTS_CSV,
    DatabaseRow,
    RawRecord,
    dataset_version,
    is_ptbxl_folder,
    read_database,
    read_wfdb_record,
    safe_record_path,
)
from runtime.dataset.scp import (
    LABEL_PROTOCOL,
    SUPERCLASSES,
    label_matrix,
    load_diagnostic_classes,
    load_statement_codes,
    unknown_codes,
)
from runtime.dataset.splits import SPLIT_NAMES, assign_folds, split_mask
from runtime.errors import DataError
from runtime.leads import STANDARD_LEADS
from runtime.progress import Progress, log

CACHE_FORMAT = 1
MANIFEST = "manifest.json"
ARRAYS = ("signals", "gain", "baseline", "labels", "ecg_id", "patient_id", "fold")
DEFAULT_MAX_BYTES = 16 * 1024**3
MAX_BYTES_ENV = "ECG_SHRINK_MAX_DATASET_BYTES"


def max_dataset_bytes() -> int:
    """Upper bound on a cache's signal bytes (override with ECG_SHRINK_MAX_DATASET_BYTES)."""
    value = os.environ.get(MAX_BYTES_ENV)
    return int(value) if value else DEFAULT_MAX_BYTES


@dataclass
class PreparedDataset:
    """A memory-mapped prepared dataset with its manifest."""

    path: Path
    manifest: dict[str, Any]
    signals: np.ndarray
    gain: np.ndarray
    baseline: np.ndarray
    labels: np.ndarray
    ecg_id: np.ndarray
    patient_id: np.ndarray
    fold: np.ndarray

    @property
    def fs(self) -> int:
        return int(self.manifest["fs"])

    @property
    def classes(self) -> tuple[str, ...]:
        return tuple(self.manifest["classes"])

    @property
    def leads(self) -> tuple[str, ...]:
        return tuple(self.manifest["leads"])

    @property
    def samples(self) -> int:
        return int(self.signals.shape[-1])

    def identity(self) -> dict[str, Any]:
        """What a model card records about its data (enough to find it again)."""
        keys = ("name", "version", "source", "split", "fs", "content_hash", "label_protocol")
        identity = {key: self.manifest.get(key) for key in keys}
        identity["cache"] = str(self.path)
        return identity

    def indices(self, split: str) -> np.ndarray:
        """Record indices of a split (train, val, test)."""
        return np.flatnonzero(split_mask(self.fold, split))

    def sample(self, split: str, limit: int | None = None, seed: int = 0, salt: int = 0) -> np.ndarray:
        """Indices of a split, or a seeded sorted subsample of ``limit`` of them; an empty split is an error.

        ``salt`` keeps independent uses (training subsample, calibration sample) from drawing
        the same records for the same seed.
        """
        indices = self.indices(split)
        if len(indices) == 0:
            raise DataError(f"{self.path}: the {split} split is empty (folds 1-8 train, 9 val, 10 test)")
        if limit is not None and len(indices) > limit:
            indices = np.sort(np.random.default_rng([seed, salt]).choice(indices, size=limit, replace=False))
        return indices

    def millivolts(self, indices: np.ndarray | Sequence[int]) -> np.ndarray:
        """Signals of the given records as float32 mV, ``[n, 12, samples]``."""
        idx = np.asarray(indices)
        digital = np.asarray(self.signals[idx], dtype=np.float32)
        return (digital - self.baseline[idx][:, :, None]) / self.gain[idx][:, :, None]

    @classmethod
    def open(cls, path: str | Path) -> PreparedDataset:
        """Memory-map a cache folder written by ``prepare``."""
        folder = Path(path)
        manifest_path = folder / MANIFEST
        if not manifest_path.is_file():
            raise DataError(f"{folder} is not a prepared dataset (no {MANIFEST}); run 'train prepare' on it")
        try:
            manifest = json.loads(manifest_path.read_text())
        except ValueError as exc:
            raise DataError(f"{manifest_path}: not valid JSON ({exc})") from None
        if manifest.get("format") != CACHE_FORMAT:
            raise DataError(f"{manifest_path}: cache format {manifest.get('format')} != {CACHE_FORMAT}; prepare again")
        arrays: dict[str, np.ndarray] = {}
        for name in ARRAYS:
            file = folder / f"{name}.npy"
            if not file.is_file():
                raise DataError(f"{file} missing; the cache is incomplete, prepare again")
            arrays[name] = np.load(file, mmap_mode="r", allow_pickle=False)
        count = arrays["signals"].shape[0]
        if any(arrays[name].shape[0] != count for name in ARRAYS):
            raise DataError(f"{folder}: arrays disagree on the number of records; prepare again")
        return cls(path=folder, manifest=manifest, **arrays)


def content_hash(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over the arrays that define the dataset (signals, calibration, labels, ids, folds)."""
    digest = hashlib.sha256()
    for name in ARRAYS:
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        step = 1 << 24
        flat = array.reshape(-1).view(np.uint8)
        for start in range(0, flat.size, step):
            digest.update(flat[start : start + step].tobytes())
    return "sha256:" + digest.hexdigest()


def _file_sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def _read_one(job: tuple[str, int, int]) -> tuple[RawRecord | None, str | None]:
    path, fs, samples = job
    try:
        return read_wfdb_record(path, fs, samples), None
    except DataError as exc:
        return None, str(exc)


def _refuse_unknown_codes(rows: list[DatabaseRow], known: frozenset[str], root: Path) -> None:
    """Stop at the first record whose statement code is not in ``scp_statements.csv``.

    Such a code would otherwise be dropped silently and could change a record's labels.
    """
    for row in rows:
        strangers = unknown_codes(row.scp_codes, known)
        if strangers:
            raise DataError(
                f"{root / DATABASE_CSV} line {row.line}: statement code {strangers[0]!r} is not in "
                f"{STATEMENTS_CSV}; correct the code or add its statement to {STATEMENTS_CSV}"
            )


def prepare(
    source: str | Path,
    out: str | Path,
    fs: int = 100,
    split: str = "strat_fold",
    seed: int = 0,
    skip_bad: bool = False,
    workers: int | None = None,
    force: bool = False,
    progress: bool = True,
) -> PreparedDataset:
    """Read a PTB-XL folder into a cache at ``out`` and return it memory-mapped.

    By default the first bad record stops the run with its file named; ``skip_bad``
    drops bad records with a warning and records them in the manifest.
    """
    root = Path(source)
    if not is_ptbxl_folder(root):
        raise DataError(f"{root} has no {DATABASE_CSV}; pass a PTB-XL folder (or a synthetic one from 'train synth')")
    started = time.perf_counter()
    diagnostic = load_diagnostic_classes(root / STATEMENTS_CSV)
    rows = read_database(root, fs)
    _refuse_unknown_codes(rows, load_statement_codes(root / STATEMENTS_CSV), root)
    labels = label_matrix([row.scp_codes for row in rows], diagnostic)
    keep = np.asarray(labels.any(axis=1), dtype=bool)
    dropped_no_label = int((~keep).sum())
    rows = [row for row, kept in zip(rows, keep, strict=True) if kept]
    labels = labels[keep]
    samples = fs * RECORD_SECONDS
    if len(rows) * 12 * samples * 2 > max_dataset_bytes():
        raise DataError(
            f"{len(rows)} records of {samples} samples exceed the dataset limit of {max_dataset_bytes()} bytes; "
            f"raise {MAX_BYTES_ENV} if this is intended"
        )
    paths = [str(safe_record_path(root, row.filename)) for row in rows]
    jobs = [(path, fs, samples) for path in paths]
    signals = np.zeros((len(rows), 12, samples), dtype=np.int16)
    gain = np.zeros((len(rows), 12), dtype=np.float32)
    baseline = np.zeros((len(rows), 12), dtype=np.float32)
    ok = np.zeros(len(rows), dtype=bool)
    problems: list[str] = []
    bar = Progress(len(jobs), f"reading {root.name} records{fs}", enabled=progress)
    worker_count = workers or min(os.cpu_count() or 1, 8)
    context = multiprocessing.get_context("fork") if hasattr(os, "fork") else multiprocessing.get_context()
    with context.Pool(worker_count) if worker_count > 1 else _Serial() as pool:
        for index, (record, problem) in enumerate(pool.imap(_read_one, jobs, chunksize=64)):
            bar.update()
            if problem is not None:
                if not skip_bad:
                    raise DataError(f"{problem} (use --skip-bad to drop bad records with a warning)")
                problems.append(problem)
                continue
            assert record is not None
            signals[index], gain[index], baseline[index] = record.digital, record.gain, record.baseline
            ok[index] = True
    bar.close()
    for problem in problems[:10]:
        log(f"warning: skipped {problem}")
    if len(problems) > 10:
        log(f"warning: skipped {len(problems) - 10} more bad records")
    rows = [row for row, good in zip(rows, ok, strict=True) if good]
    arrays: dict[str, np.ndarray] = {
        "signals": signals[ok],
        "gain": gain[ok],
        "baseline": baseline[ok],
        "labels": labels[ok],
        "ecg_id": np.array([row.ecg_id for row in rows], dtype=np.int64),
        "patient_id": np.array([row.patient_id for row in rows], dtype=np.int64),
    }
    if not rows:
        raise DataError(f"{root}: no usable records left")
    arrays["fold"] = assign_folds(
        np.array([row.strat_fold for row in rows]), arrays["patient_id"], arrays["labels"], split, seed
    )
    manifest = {
        "format": CACHE_FORMAT,
        "name": "ptb-xl-synthetic" if (root / "SYNTHETIC.json").is_file() else "ptb-xl",
        "version": dataset_version(root),
        "source": str(root.resolve()),
        "source_files": {
            DATABASE_CSV: _file_sha256(root / DATABASE_CSV),
            STATEMENTS_CSV: _file_sha256(root / STATEMENTS_CSV),
        },
        "label_protocol": LABEL_PROTOCOL,
        "fs": fs,
        "samples": samples,
        "leads": list(STANDARD_LEADS),
        "classes": list(SUPERCLASSES),
        "split": {"protocol": split, "seed": seed, "train_folds": "1-8", "val_fold": 9, "test_fold": 10},
        "records_listed": int(keep.size),
        "records_kept": len(rows),
        "dropped_no_superclass": dropped_no_label,
        "skipped_bad": len(problems),
        "skipped_examples": problems[:20],
        "content_hash": content_hash(arrays),
        "prepare_seconds": round(time.perf_counter() - started, 2),
    }
    with atomic_directory(out, replace=force) as tmp:
        for name, array in arrays.items():
            np.save(tmp / f"{name}.npy", array, allow_pickle=False)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2))
    return PreparedDataset.open(out)


class _Serial:
    """Stand-in for a process pool when one worker is asked for."""

    def __enter__(self) -> _Serial:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def imap(self, func: Any, items: Sequence[Any], chunksize: int = 1) -> Any:
        return map(func, items)


def summary(dataset: PreparedDataset) -> dict[str, Any]:
    """Records kept/dropped and, per split, the record count and positives per class."""
    manifest = dataset.manifest
    splits: dict[str, Any] = {}
    for name in SPLIT_NAMES:
        idx = dataset.indices(name)
        positives = np.asarray(dataset.labels[idx]).sum(axis=0)
        splits[name] = {
            "records": len(idx),
            "positives": {klass: int(count) for klass, count in zip(dataset.classes, positives, strict=True)},
        }
    return {
        "dataset": manifest["name"],
        "version": manifest["version"],
        "source": manifest["source"],
        "cache": str(dataset.path),
        "fs": dataset.fs,
        "samples": dataset.samples,
        "split_protocol": manifest["split"]["protocol"],
        "records_listed": manifest["records_listed"],
        "records_kept": manifest["records_kept"],
        "records_dropped": manifest["records_listed"] - manifest["records_kept"],
        "dropped_no_superclass": manifest["dropped_no_superclass"],
        "skipped_bad": manifest["skipped_bad"],
        "content_hash": manifest["content_hash"],
        "splits": splits,
    }


def default_cache_dir(source: str | Path, fs: int, split: str, seed: int = 0) -> Path:
    """Where the cache of a PTB-XL folder goes when no --out is given (ECG_SHRINK_CACHE or ~/.cache)."""
    base = Path(os.environ.get("ECG_SHRINK_CACHE", Path.home() / ".cache" / "ecg-shrink"))
    resolved = Path(source).resolve()
    key = hashlib.sha1(str(resolved).encode()).hexdigest()[:10]
    suffix = f"-seed{seed}" if split == "iterstrat" else ""
    return base / f"{resolved.name}-{key}-fs{fs}-{split}{suffix}"


def open_dataset(path: str | Path, fs: int = 100, split: str = "strat_fold", progress: bool = True) -> PreparedDataset:
    """Open a cache folder, or a PTB-XL folder through its (re)built default cache."""
    folder = Path(path)
    if (folder / MANIFEST).is_file():
        return PreparedDataset.open(folder)
    if not folder.exists():
        raise DataError(f"{folder} does not exist; pass a PTB-XL folder or a prepared cache with --data")
    if not is_ptbxl_folder(folder):
        raise DataError(f"{folder} is neither a PTB-XL folder ({DATABASE_CSV}) nor a prepared cache ({MANIFEST})")
    cache = default_cache_dir(folder, fs, split)
    if (cache / MANIFEST).is_file():
        dataset = PreparedDataset.open(cache)
        current = _file_sha256(folder / DATABASE_CSV)
        if dataset.manifest.get("source_files", {}).get(DATABASE_CSV) == current:
            return dataset
        log(f"{folder / DATABASE_CSV} changed since {cache} was prepared; preparing again")
    return prepare(folder, cache, fs=fs, split=split, force=True, progress=progress)
