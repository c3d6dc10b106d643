"""The models shipped in ``runtime/pretrained``: trained on real PTB-XL, usable with no options."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from runtime.card import read_card
from runtime.onnx_io import load_model
from runtime.pretrained import DEFAULT_MODEL, FOLDER, shipped_models
from tests.conftest import DATA
from tests.helpers import assert_one_line_error, run_cli

RECORDS = DATA / "ptbxl-records"
BUDGET_BYTES = 8 * 1024 * 1024


def test_the_default_and_the_essentials_are_shipped_within_budget() -> None:
    names = {m.name for m in shipped_models()}
    assert {DEFAULT_MODEL, "ptbxl-teacher", "ptbxl-student"} <= names
    assert sum(p.stat().st_size for p in FOLDER.iterdir() if p.is_file()) <= BUDGET_BYTES
    assert (FOLDER / "PRETRAINED.md").is_file()


@pytest.mark.parametrize("shipped", shipped_models(), ids=lambda m: m.name)
def test_shipped_cards_carry_measured_figures_and_no_local_paths(shipped) -> None:
    card = read_card(load_model(shipped.path), str(shipped.path))
    benchmark = card.metrics["benchmark"]
    assert benchmark["split"] == "test" and benchmark["test_records"] == 2158 and benchmark["dataset"] == "ptb-xl"
    assert benchmark["macro_auc_low"] <= benchmark["macro_auc"] <= benchmark["macro_auc_high"]
    assert card.dataset["name"] == "ptb-xl" and "CC BY 4.0" in card.dataset["licence"]
    assert not {"cache", "source", "path"} & set(card.dataset)
    assert all("/" not in step["parent_file"] for step in card.lineage)
    assert card.lineage or card.training  # trained here, or made from a trained parent


def test_runtime_info_lists_the_shipped_models() -> None:
    result = run_cli("runtime", "info", no_torch=True)
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    assert "PTB-XL" in listing["attribution"]
    rows = {row["name"]: row for row in listing["shipped"]}
    assert rows[DEFAULT_MODEL]["default"] and rows[DEFAULT_MODEL]["test_macro_auc"] > 0.85


def test_classify_without_model_uses_the_default_on_real_records() -> None:
    records = sorted(RECORDS.glob("records100/*/*.hea"))
    result = run_cli("runtime", "classify", *map(str, records), "--json", no_torch=True)
    assert result.returncode == 0, result.stderr
    rows = {Path(row["record"]).name.split("_")[0]: row for row in json.loads(result.stdout)}
    import csv

    from runtime.dataset.scp import SUPERCLASSES, load_diagnostic_classes, parse_scp_codes, superclass_labels

    diagnostic = load_diagnostic_classes(RECORDS / "scp_statements.csv")
    truth, scores = [], []
    with (RECORDS / "ptbxl_database.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            labels = superclass_labels(parse_scp_codes(row["scp_codes"]), diagnostic)
            if labels.any():
                truth.append(labels)
                scores.append([rows[f"{int(row['ecg_id']):05d}"]["probabilities"][c] for c in SUPERCLASSES])
    # pooled over the 13 labelled real records and 5 classes: a real-trained model ranks the true
    # classes above the absent ones (a synthetic-trained one does not reach this)
    assert roc_auc_score(np.ravel(truth), np.ravel(scores)) > 0.85


def test_a_shipped_model_by_name() -> None:
    record = RECORDS / "records100" / "00000" / "00001_lr.hea"
    result = run_cli("runtime", "classify", str(record), "--model", "ptbxl-teacher", "--json", no_torch=True)
    assert result.returncode == 0, result.stderr
    assert "NORM" in json.loads(result.stdout)[0]["detected"]
    unknown = run_cli("runtime", "classify", str(record), "--model", "ptbxl-nope", no_torch=True)
    assert_one_line_error(unknown, "not a shipped model", "ptbxl-teacher", code=2)


def test_quantize_a_shipped_model_without_ptbxl_says_what_to_pass(tmp_path: Path) -> None:
    source = tmp_path / "teacher.onnx"
    source.write_bytes((FOLDER / "ptbxl-student.onnx").read_bytes())
    result = run_cli("compress", "quantize", str(source), no_torch=True)
    assert_one_line_error(result, "ptb-xl", "--data", code=2)
    assert not (tmp_path / "teacher.int8.onnx").exists()
