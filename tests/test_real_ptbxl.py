"""Real PTB-XL v1.0.3: every statement code parses, the protocol reproduces the published split
sizes and positives on all 21,799 label rows, and ``train prepare`` reads real records100 files.

The label file (no signals) and 14 real records are vendored in ``tests/data/`` (CC BY 4.0,
see ``tests/data/ATTRIBUTION.md``); nothing here needs the full dataset.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import wfdb

from runtime.dataset.cache import PreparedDataset, prepare
from runtime.dataset.ptbxl import read_database
from runtime.dataset.scp import SUPERCLASSES, label_matrix, load_diagnostic_classes, parse_scp_codes
from runtime.dataset.splits import assign_folds, split_mask
from runtime.errors import DataError
from tests.conftest import DATA
from tests.helpers import assert_one_line_error, run_cli

STATEMENTS = DATA / "ptbxl-meta" / "scp_statements.csv"
LABELS = DATA / "ptbxl-labels" / "ptbxl_v103_statements.csv"
RECORDS = DATA / "ptbxl-records"

# The PTB-XL benchmark's superdiagnostic protocol on v1.0.3 (published figures; also what an
# independent implementation gives): kept records per split and positives NORM, MI, STTC, CD, HYP.
EXPECTED_SPLITS = {
    "train": (17084, [7596, 4379, 4186, 3907, 2119]),
    "val": (2146, [955, 540, 528, 495, 268]),
    "test": (2158, [963, 550, 521, 496, 262]),
}


def _statement_codes() -> list[str]:
    with STATEMENTS.open(newline="") as handle:
        return [row[0] for row in csv.reader(handle)][1:]


def _database_from_labels(root: Path) -> Path:
    """A ``ptbxl_database.csv`` with all 21,799 rows, scp_codes written as PTB-XL writes them."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "scp_statements.csv").write_bytes(STATEMENTS.read_bytes())
    with LABELS.open(newline="") as source, (root / "ptbxl_database.csv").open("w", newline="") as target:
        writer = csv.writer(target)
        writer.writerow(["ecg_id", "patient_id", "age", "sex", "scp_codes", "strat_fold", "filename_lr", "filename_hr"])
        for row in csv.DictReader(source):
            ecg_id = int(row["ecg_id"])
            codes = {code: 0.0 for code in row["scp_statements"].split("|") if code}
            folder = f"{ecg_id // 1000 * 1000:05d}"
            writer.writerow([ecg_id, row["patient_id"], row["age"], row["sex"], repr(codes), row["strat_fold"],
                             f"records100/{folder}/{ecg_id:05d}_lr", f"records500/{folder}/{ecg_id:05d}_hr"])  # fmt: skip
    return root


def test_all_71_statement_codes_parse() -> None:
    codes = _statement_codes()
    assert len(codes) == 71
    assert "PRC(S)" in codes
    for code in codes:
        assert parse_scp_codes(f"{{'{code}': 100.0}}") == {code: 100.0}
    everything = "{" + ", ".join(f"'{code}': {i}.0" for i, code in enumerate(codes)) + "}"
    assert list(parse_scp_codes(everything)) == codes


def test_real_scp_codes_strings_parse() -> None:
    assert parse_scp_codes("{'PRC(S)': 0.0, 'RAO/RAE': 0.0, 'SR': 0.0}") == {"PRC(S)": 0.0, "RAO/RAE": 0.0, "SR": 0.0}
    assert parse_scp_codes("{'NORM': 80.0, 'SBRAD': 0.0}") == {"NORM": 80.0, "SBRAD": 0.0}
    with (DATA / "ptbxl-meta" / "ptbxl_database_head521.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            assert parse_scp_codes(row["scp_codes"])


def test_protocol_on_all_21799_records_gives_the_published_splits(tmp_path: Path) -> None:
    root = _database_from_labels(tmp_path / "ptbxl")
    rows = read_database(root, 100)
    assert len(rows) == 21799
    labels = label_matrix([row.scp_codes for row in rows], load_diagnostic_classes(root / "scp_statements.csv"))
    keep = labels.any(axis=1)
    assert int(keep.sum()) == 21388
    folds = assign_folds(
        np.array([row.strat_fold for row in rows])[keep],
        np.array([row.patient_id for row in rows])[keep],
        labels[keep],
        "strat_fold",
        0,
    )
    for split, (records, positives) in EXPECTED_SPLITS.items():
        mask = split_mask(folds, split)
        assert int(mask.sum()) == records, split
        assert labels[keep][mask].sum(axis=0).tolist() == positives, split


def test_unknown_statement_code_is_named_with_its_line(tmp_path: Path) -> None:
    root = RECORDS
    broken = tmp_path / "ptbxl"
    broken.mkdir()
    (broken / "scp_statements.csv").write_bytes((root / "scp_statements.csv").read_bytes())
    lines = (root / "ptbxl_database.csv").read_text().splitlines()
    lines[3] = lines[3].replace("'", "'XQZ", 1)
    (broken / "ptbxl_database.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(DataError, match=r"line 4: statement code 'XQZ\w+' is not in scp_statements.csv"):
        prepare(broken, tmp_path / "cache", workers=1, progress=False)
    assert not (tmp_path / "cache").exists()


def test_unknown_statement_code_cli_is_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "ptbxl"
    broken.mkdir()
    (broken / "scp_statements.csv").write_bytes((RECORDS / "scp_statements.csv").read_bytes())
    text = (RECORDS / "ptbxl_database.csv").read_text().replace("'SR'", "'SINUS'", 1)
    (broken / "ptbxl_database.csv").write_text(text)
    result = run_cli("train", "prepare", str(broken), "--out", str(tmp_path / "cache"))
    assert_one_line_error(result, "'SINUS' is not in scp_statements.csv")
    assert not (tmp_path / "cache").exists()


@pytest.fixture(scope="module")
def real_records(tmp_path_factory: pytest.TempPathFactory) -> PreparedDataset:
    out = tmp_path_factory.mktemp("real-records") / "cache"
    result = run_cli("train", "prepare", str(RECORDS), "--out", str(out), "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["records_listed"] == 14 and info["records_kept"] == 13 and info["dropped_no_superclass"] == 1
    assert {name: split["records"] for name, split in info["splits"].items()} == {"train": 3, "val": 5, "test": 5}
    return PreparedDataset.open(out)


def test_prepare_reads_real_records(real_records: PreparedDataset) -> None:
    by_id = {int(ecg_id): i for i, ecg_id in enumerate(real_records.ecg_id)}
    # 1228: PRC(S) (no class) + RAO/RAE (HYP); 2262: ASMI (MI), CRBBB and LAFB (CD), PRC(S)
    assert real_records.labels[by_id[1228]].tolist() == [0, 0, 0, 0, 1]
    assert real_records.labels[by_id[2262]].tolist() == [0, 1, 0, 1, 0]
    assert real_records.classes == SUPERCLASSES
    for ecg_id in (1, 2262):
        row = by_id[ecg_id]
        record = wfdb.rdrecord(str(RECORDS / f"records100/{ecg_id // 1000 * 1000:05d}/{ecg_id:05d}_lr"))
        ours = real_records.millivolts([row])[0]
        np.testing.assert_allclose(ours, record.p_signal.T, atol=1e-6)
