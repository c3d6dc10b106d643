"""PTB-XL reader, label protocol, splits and the prepared cache."""

from __future__ import annotations

import ast
import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from runtime.dataset.cache import PreparedDataset, prepare, summary
from runtime.dataset.scp import SUPERCLASSES, parse_scp_codes
from runtime.dataset.splits import assign_folds, split_mask
from runtime.errors import DataError
from tests.conftest import DATA
from tests.helpers import assert_one_line_error, run_cli
from train.synth.generate import PTBXL_LEAD_NAMES
from train.synth.wfdb_writer import write_record

META = DATA / "ptbxl-meta"


def _ptbxl_from_real_metadata(root: Path, rows: int | None = None, crlf_bom: bool = False) -> Path:
    """A PTB-XL folder with the real metadata (first 521 rows) and signals the test writes."""
    root.mkdir(parents=True)
    shutil.copy(META / "scp_statements.csv", root / "scp_statements.csv")
    text = (META / "ptbxl_database_head521.csv").read_text()
    lines = text.splitlines()
    if rows is not None:
        lines = lines[: rows + 1]
    body = "\r\n".join(lines) + "\r\n" if crlf_bom else "\n".join(lines) + "\n"
    (root / "ptbxl_database.csv").write_text(("\ufeff" if crlf_bom else "") + body)
    rng = np.random.default_rng(0)
    for row in csv.DictReader(lines):
        name = Path(row["filename_lr"])
        folder = root / name.parent
        folder.mkdir(parents=True, exist_ok=True)
        write_record(
            folder, name.name, rng.integers(-500, 500, size=(12, 1000)).astype(np.int16), 100, PTBXL_LEAD_NAMES
        )
    return root


def _expected_labels() -> tuple[dict[int, np.ndarray], int]:
    """Independent implementation of the benchmark protocol on the real metadata."""
    statements = {}
    with (META / "scp_statements.csv").open() as handle:
        for row in csv.DictReader(handle):
            if row["diagnostic"] == "1.0":
                statements[row[""]] = row["diagnostic_class"]
    expected: dict[int, np.ndarray] = {}
    dropped = 0
    with (META / "ptbxl_database_head521.csv").open() as handle:
        for row in csv.DictReader(handle):
            classes = {statements[c] for c in ast.literal_eval(row["scp_codes"]) if c in statements}
            if not classes:
                dropped += 1
                continue
            expected[int(row["ecg_id"])] = np.array([k in classes for k in SUPERCLASSES], dtype=np.uint8)
    return expected, dropped


@pytest.fixture(scope="module")
def real_meta_cache(tmp_path_factory: pytest.TempPathFactory) -> PreparedDataset:
    root = _ptbxl_from_real_metadata(tmp_path_factory.mktemp("real") / "ptbxl")
    return prepare(root, root.parent / "cache", workers=1, progress=False)


def test_label_protocol_on_real_metadata(real_meta_cache: PreparedDataset) -> None:
    expected, dropped = _expected_labels()
    assert real_meta_cache.manifest["dropped_no_superclass"] == dropped > 0
    assert len(real_meta_cache.ecg_id) == len(expected)
    for ecg_id, labels in zip(real_meta_cache.ecg_id, real_meta_cache.labels, strict=True):
        np.testing.assert_array_equal(labels, expected[int(ecg_id)])
    assert real_meta_cache.classes == SUPERCLASSES


def test_likelihood_zero_still_counts() -> None:
    codes = parse_scp_codes("{'IMI': 0.0, 'SR': 0.0}")
    from runtime.dataset.scp import load_diagnostic_classes, superclass_labels

    labels = superclass_labels(codes, load_diagnostic_classes(META / "scp_statements.csv"))
    assert labels.tolist() == [0, 1, 0, 0, 0]


def test_strat_fold_splits_are_8_1_1(real_meta_cache: PreparedDataset) -> None:
    info = summary(real_meta_cache)
    total = sum(split["records"] for split in info["splits"].values())
    assert total == info["records_kept"]
    assert set(np.asarray(real_meta_cache.fold[real_meta_cache.indices("test")]).tolist()) == {10}
    assert set(np.asarray(real_meta_cache.fold[real_meta_cache.indices("val")]).tolist()) == {9}


def test_iterstrat_never_splits_a_patient() -> None:
    rng = np.random.default_rng(1)
    patients = rng.integers(0, 300, size=1200)
    labels = (rng.random((1200, 5)) < 0.3).astype(np.uint8)
    folds = assign_folds(np.ones(1200), patients, labels, "iterstrat", seed=2)
    for split in ("train", "val", "test"):
        inside = set(patients[split_mask(folds, split)].tolist())
        for other in ("train", "val", "test"):
            if other != split:
                assert not inside & set(patients[split_mask(folds, other)].tolist())
    assert 0.05 < split_mask(folds, "test").mean() < 0.15


def test_crlf_and_bom_csv_work(tmp_path: Path) -> None:
    root = _ptbxl_from_real_metadata(tmp_path / "crlf", rows=40, crlf_bom=True)
    dataset = prepare(root, tmp_path / "cache", workers=1, progress=False)
    assert len(dataset.ecg_id) > 30


def test_cache_round_trip(synth_dir: Path, synth_cache: PreparedDataset, tmp_path: Path) -> None:
    reopened = PreparedDataset.open(synth_cache.path)
    np.testing.assert_array_equal(reopened.signals, synth_cache.signals)
    assert reopened.manifest["content_hash"] == synth_cache.manifest["content_hash"]
    again = prepare(synth_dir, tmp_path / "again", workers=2, progress=False)
    assert again.manifest["content_hash"] == synth_cache.manifest["content_hash"]
    mv = reopened.millivolts([0, 1])
    assert mv.shape == (2, 12, 1000) and mv.dtype == np.float32
    import wfdb

    first = wfdb.rdrecord(str(synth_dir / "records100/00000/00001_lr"))
    row = int(np.flatnonzero(np.asarray(reopened.ecg_id) == 1)[0])
    np.testing.assert_allclose(reopened.millivolts([row])[0], first.p_signal.T, atol=1e-6)


def test_synthetic_folder_reads_as_ptbxl(synth_cache: PreparedDataset) -> None:
    info = summary(synth_cache)
    assert info["dataset"] == "ptb-xl-synthetic"
    assert info["records_kept"] >= 280
    assert all(info["splits"][s]["records"] > 0 for s in ("train", "val", "test"))
    prevalence = np.asarray(synth_cache.labels).mean(axis=0)
    assert 0.3 < prevalence[0] < 0.6  # NORM
    assert prevalence[1:].min() > 0.05


def _bad_dataset(tmp_path: Path, damage: str) -> Path:
    root = _ptbxl_from_real_metadata(tmp_path / "bad", rows=30)
    first = root / "records100/00000/00001_lr"
    if damage == "truncated":
        data = first.with_suffix(".dat").read_bytes()
        first.with_suffix(".dat").write_bytes(data[: len(data) // 2])
    elif damage == "missing":
        first.with_suffix(".dat").unlink()
        first.with_suffix(".hea").unlink()
    elif damage == "fs":
        header = first.with_suffix(".hea")
        header.write_text(header.read_text().replace("00001_lr 12 100 1000", "00001_lr 12 500 1000"))
    elif damage == "leads":
        write_record(first.parent, first.name, np.zeros((11, 1000), np.int16), 100, PTBXL_LEAD_NAMES[:11])
    elif damage == "nan":
        signal = np.zeros((12, 1000), np.int16)
        signal[3, 10] = -32768
        write_record(first.parent, first.name, signal, 100, PTBXL_LEAD_NAMES)
    elif damage in ("frames", "skew"):
        header = first.with_suffix(".hea")
        lines = header.read_text().splitlines()
        fields = lines[1].split()
        fields[1] = fields[1].replace("16", "16x2" if damage == "frames" else "16:3", 1)
        lines[1] = " ".join(fields)
        header.write_text("\n".join(lines) + "\n")
    elif damage == "column":
        csv_path = root / "ptbxl_database.csv"
        csv_path.write_text(csv_path.read_text().replace("strat_fold", "fold_x", 1))
    elif damage == "gain":
        header = first.with_suffix(".hea")
        header.write_text(header.read_text().replace("1000.0(0)/mV", "0(0)/mV"))
    elif damage == "traversal":
        csv_path = root / "ptbxl_database.csv"
        csv_path.write_text(csv_path.read_text().replace("records100/00000/00001_lr", "../../etc/passwd", 1))
    elif damage == "scp_code":
        csv_path = root / "ptbxl_database.csv"
        text = csv_path.read_text()
        start = text.index('"{', text.index("\n"))
        end = text.index('}"', start) + 2
        csv_path.write_text(text[:start] + "\"__import__('os').system('true')\"" + text[end:])
    return root


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        ("truncated", "truncated"),
        ("missing", "not found"),
        ("fs", "sampling rate"),
        ("leads", "11 leads"),
        ("nan", "missing samples"),
        ("column", "strat_fold"),
        ("gain", "gain"),
        ("traversal", "outside the dataset folder"),
        ("scp_code", "scp_codes"),
        ("frames", "samples per frame"),
        ("skew", "skew 3"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path: Path, damage: str, fragment: str) -> None:
    root = _bad_dataset(tmp_path, damage)
    out = tmp_path / "cache"
    result = run_cli("train", "prepare", str(root), "--out", str(out), "--workers", "1")
    assert_one_line_error(result, fragment)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cache")]


def test_skip_bad_records_them_in_the_manifest(tmp_path: Path) -> None:
    root = _bad_dataset(tmp_path, "truncated")
    dataset = prepare(root, tmp_path / "cache", skip_bad=True, workers=1, progress=False)
    assert dataset.manifest["skipped_bad"] == 1
    assert "truncated" in dataset.manifest["skipped_examples"][0]


def test_prepare_json_summary(synth_dir: Path, tmp_path: Path) -> None:
    import json

    result = run_cli("train", "prepare", str(synth_dir), "--out", str(tmp_path / "c"), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert {"records_kept", "records_dropped", "splits"} <= set(info)
    assert set(info["splits"]["test"]["positives"]) == set(SUPERCLASSES)


def test_scp_parser_refuses_code() -> None:
    for text in ("{'A': __import__('os')}", "[1, 2]", "{'A': {'B': 1}}", "{'A': 1,,}", "x" * 5000):
        with pytest.raises(DataError):
            parse_scp_codes(text)
    assert parse_scp_codes("{}") == {}
