"""benchmark run / compare / runtimes / latency: fields, AUC correctness, MACs, exit codes, torch-free."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from runtime.graph_stats import count_macs, parameter_count
from tests.helpers import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def results(float_model: Path, int8_model: Path, synth_cache, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    result = run_cli("benchmark", "run", str(float_model), str(int8_model), "--baseline", str(float_model),
                     "--time-s", "0.5", "--warmup-s", "0.1", "--bootstrap", "20", "--no-floor",
                     "-o", str(out / "r.json"), "--csv", str(out / "r.csv"), "--markdown", str(out / "r.md"),
                     "--plots", str(out / "plots"), no_torch=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


def test_rows_have_sane_fields(results: Path) -> None:
    data = json.loads((results / "r.json").read_text())
    rows = data["rows"]
    assert len(rows) == 2
    for row in rows:
        for key in (
            "bytes",
            "parameters",
            "macs",
            "p50_ms",
            "p90_ms",
            "p99_ms",
            "throughput",
            "peak_rss_mb",
            "macro_auc",
            "macro_auc_low",
            "macro_auc_high",
            "fmax",
            "f1_at_thresholds",
            "auc",
        ):
            assert key in row, key
        assert row["p50_ms"] > 0 and row["macs"] > 0 and 0 <= row["macro_auc"] <= 1
        assert row["timed_on"] == "test records"
        assert row["macro_auc_low"] <= row["macro_auc"] + 1e-9 <= row["macro_auc_high"] + 2e-9
    int8 = next(r for r in rows if r["precision"] == "int8")
    assert int8["x_smaller"] > 1.0 and "delta_auc" in int8
    assert int8["delta_auc_low"] <= int8["delta_auc_high"]
    fp32 = next(r for r in rows if r["precision"] == "fp32")
    assert fp32["delta_auc_low"] == fp32["delta_auc_high"] == 0.0
    assert data["environment"]["onnxruntime"] and "cpu" in data["environment"]
    assert (results / "r.csv").read_text().splitlines()[0].startswith("model,")
    assert "| model |" in (results / "r.md").read_text()
    assert {p.name for p in (results / "plots").iterdir()} >= {"pareto-bytes.png", "pareto-latency.png"}


def test_auc_equals_scikit_learn(float_model: Path, synth_cache) -> None:
    from sklearn.metrics import roc_auc_score

    from runtime.card import read_card
    from runtime.evaluate import split_scores
    from runtime.metrics import macro_auc
    from runtime.session import make_session

    card = read_card(onnx.load(float_model))
    labels, scores = split_scores(make_session(float_model), synth_cache, "test", card.leads)
    defined = [k for k in range(labels.shape[1]) if labels[:, k].min() != labels[:, k].max()]
    expected = np.mean([roc_auc_score(labels[:, k], scores[:, k]) for k in defined])
    assert macro_auc(labels, scores) == pytest.approx(expected, abs=1e-12)


def test_macs_of_a_known_graph() -> None:
    rng = np.random.default_rng(0)
    conv_w = numpy_helper.from_array(rng.normal(size=(8, 12, 5)).astype(np.float32), "w")
    gemm_w = numpy_helper.from_array(rng.normal(size=(5, 8)).astype(np.float32), "g")
    nodes = [
        helper.make_node("Conv", ["ecg", "w"], ["c"], pads=[2, 2]),
        helper.make_node("GlobalAveragePool", ["c"], ["p"]),
        helper.make_node("Flatten", ["p"], ["f"]),
        helper.make_node("Gemm", ["f", "g"], ["logits"], transB=1),
    ]
    graph = helper.make_graph(nodes, "known", [helper.make_tensor_value_info("ecg", TensorProto.FLOAT, ["b", 12, 100])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["b", 5])], [conv_w, gemm_w])  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    assert count_macs(model, [1, 12, 100]) == 8 * 100 * 12 * 5 + 5 * 8
    assert parameter_count(model) == 8 * 12 * 5 + 5 * 8


def test_compare_exit_codes(results: Path, tmp_path: Path) -> None:
    base = json.loads((results / "r.json").read_text())
    worse = json.loads(json.dumps(base))
    for row in worse["rows"]:
        row["macro_auc"] -= 0.05
        row["p50_ms"] *= 2
    (tmp_path / "worse.json").write_text(json.dumps(worse))
    ok = run_cli("benchmark", "compare", str(results / "r.json"), str(results / "r.json"), "--max-auc-drop", "0.001",
                 no_torch=True)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    gate = run_cli("benchmark", "compare", str(results / "r.json"), str(tmp_path / "worse.json"),
                   "--max-auc-drop", "0.01", "--max-slowdown", "1.5", no_torch=True)  # fmt: skip
    assert_one_line_error(gate, "macro AUC fell", code=3)
    (tmp_path / "junk.json").write_text("{")
    bad = run_cli("benchmark", "compare", str(tmp_path / "junk.json"), str(results / "r.json"), no_torch=True)
    assert_one_line_error(bad, "not JSON", code=2)


def test_runtimes_matrix(float_model: Path, int8_model: Path) -> None:
    result = run_cli("benchmark", "runtimes", str(float_model), str(int8_model), "--json", no_torch=True)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    reference = [r for r in rows if r["runtime"] == "onnx.reference"]
    assert all(r["status"] == "ok" and r["max_abs_diff"] < 0.02 for r in reference), reference
    assert reference[0]["max_abs_diff"] < 1e-5  # fp32 agrees to rounding; int8 differs by requantization order
    for row in rows:
        if row["status"] == "ok" and row["model"] == "model.onnx":  # fp32: identical decisions everywhere
            assert row["decision_agreement"] == 1.0, row
    assert {r["runtime"] for r in rows} == {"onnxruntime", "onnx.reference", "opencv", "tract", "openvino"}
    openvino = [r for r in rows if r["runtime"] == "openvino" and r["status"] == "ok"]  # where installed
    assert all(r["max_abs_diff"] < 1e-5 for r in openvino if r["model"] == "model.onnx"), openvino


def test_bad_inputs(float_model: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "x.onnx"
    bogus.write_text("nope")
    failed = run_cli("benchmark", "run", str(bogus), "--time-s", "0.2", "--no-floor", no_torch=True)
    assert_one_line_error(failed, "1 of 1 model(s) failed", code=1)
    zero = run_cli("benchmark", "run", str(float_model), "--time-s", "0", no_torch=True)
    assert_one_line_error(zero, "--time-s", code=2)
    provider = run_cli("benchmark", "run", str(float_model), "--providers", "NopeExecutionProvider", no_torch=True)
    assert_one_line_error(provider, "NopeExecutionProvider", "CPUExecutionProvider", code=2)


def test_one_bad_model_does_not_stop_the_others(float_model: Path, tmp_path: Path) -> None:
    bogus = tmp_path / "broken.onnx"
    bogus.write_bytes(b"\x08\x07garbage")
    result = run_cli("benchmark", "run", str(bogus), str(float_model), "--time-s", "0.2", "--warmup-s", "0",
                     "--bootstrap", "0", "--no-floor", "-o", str(tmp_path / "r.json"), no_torch=True)  # fmt: skip
    assert_one_line_error(result, "1 of 2 model(s) failed", "broken", code=1)  # the good row is still measured
    rows = json.loads((tmp_path / "r.json").read_text())["rows"]
    assert "error" in rows[0] and "macro_auc" in rows[1]


def test_selfcheck_reports_spread_and_overhead(float_model: Path) -> None:
    result = run_cli("benchmark", "selfcheck", str(float_model), "--time-s", "0.3", no_torch=True)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["p50_run1_ms"] > 0 and data["bare_loop_mean_ms"] > 0 and data["p50_spread"] >= 0


def test_publish_stamps_the_benchmark_row_and_drops_local_paths(
    float_model: Path, results: Path, tmp_path: Path
) -> None:
    from runtime.card import read_card
    from runtime.onnx_io import load_model, sha256_file

    out = tmp_path / "published.onnx"
    before = sha256_file(float_model)
    result = run_cli("compress", "publish", str(float_model), "--benchmark", str(results / "r.json"), "-o", str(out),
                     no_torch=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(out)
    assert sha256_file(float_model) == before
    row = next(r for r in json.loads((results / "r.json").read_text())["rows"] if r["model"] == str(float_model))
    card = read_card(load_model(out))
    stamped = card.metrics["benchmark"]
    assert stamped["macro_auc"] == row["macro_auc"] and stamped["measured_file_sha256"] == before
    assert {"cache", "source", "path"}.isdisjoint(card.dataset) and "CC BY 4.0" in card.dataset["licence"]
    again = run_cli("compress", "publish", str(float_model), "--benchmark", str(results / "r.json"), "-o", str(out))
    assert_one_line_error(again, "already exists", "--force", code=2)
    other = run_cli("compress", "publish", str(results / "r.json"), "--benchmark", str(results / "r.json"),
                    "-o", str(tmp_path / "x.onnx"))  # fmt: skip
    assert other.returncode != 0 and "Traceback" not in other.stderr


def test_publish_needs_a_row_of_the_model(float_model: Path, results: Path, tmp_path: Path) -> None:
    data = json.loads((results / "r.json").read_text())
    data["rows"] = [row for row in data["rows"] if row["model"] != str(float_model)]
    (tmp_path / "other.json").write_text(json.dumps(data))
    result = run_cli("compress", "publish", str(float_model), "--benchmark", str(tmp_path / "other.json"),
                     "-o", str(tmp_path / "p.onnx"))  # fmt: skip
    assert_one_line_error(result, "no row for", "benchmark run", code=2)
    assert not (tmp_path / "p.onnx").exists()


def test_paired_bootstrap_of_a_difference() -> None:
    from runtime.metrics import bootstrap_macro_auc, bootstrap_macro_auc_difference, macro_auc

    rng = np.random.default_rng(0)
    labels = (rng.random((400, 3)) < 0.4).astype(np.uint8)
    good = labels + rng.normal(0, 0.6, labels.shape)
    worse = labels + rng.normal(0, 1.2, labels.shape)
    low, high = bootstrap_macro_auc_difference(labels, good, worse, rounds=300)
    point = macro_auc(labels, good) - macro_auc(labels, worse)
    assert 0 < low <= point <= high
    single_low, single_high = bootstrap_macro_auc(labels, good, rounds=300)
    assert high - low < (single_high - single_low) * 2  # pairing removes the shared record noise
    assert bootstrap_macro_auc_difference(labels, good, good, rounds=50) == (0.0, 0.0)


def test_bootstrap_of_a_mean_difference_over_seeds_covers_their_spread() -> None:
    from runtime.metrics import bootstrap_mean_macro_auc_difference, macro_auc

    rng = np.random.default_rng(0)
    labels = (rng.random((400, 3)) < 0.4).astype(np.uint8)
    baseline = [labels + rng.normal(0, 1.2, labels.shape) for _ in range(4)]
    # the gain differs from seed to seed (two seeds gain much, two little), or it does not
    spread = [(labels + rng.normal(0, noise, labels.shape), base) for noise, base in zip((0.5, 0.6, 1.0, 1.1), baseline, strict=True)]  # fmt: skip
    steady = [(labels + rng.normal(0, 0.8, labels.shape), base) for base in baseline]
    widths = []
    for pairs in (spread, steady):
        gains = [macro_auc(labels, tuned) - macro_auc(labels, base) for tuned, base in pairs]
        low, high = bootstrap_mean_macro_auc_difference(labels, pairs, rounds=300)
        assert low < float(np.mean(gains)) < high
        widths.append(high - low)
    assert widths[0] > 2 * widths[1]  # the seeds are resampled too: their spread widens the interval
    assert bootstrap_mean_macro_auc_difference(labels, [(baseline[0], baseline[0])] * 3, rounds=50) == (0.0, 0.0)
    with pytest.raises(ValueError, match="no pairs"):
        bootstrap_mean_macro_auc_difference(labels, [])


def test_labels_are_unique_in_a_table() -> None:
    from benchmark.harness import display_labels

    paths = [Path("a/teacher/model.onnx"), Path("a/student/model.onnx"), Path("a/student/model.int8.onnx"),
             Path("b/teacher/model.onnx"), Path("x/kd.onnx"), Path("a/lead/model.onnx"),
             Path("a/teacher/model.int8.onnx")]  # fmt: skip
    labels = display_labels(paths)
    assert len(set(labels.values())) == len(paths)
    assert labels[Path("a/student/model.onnx")] == "student/model" and labels[Path("x/kd.onnx")] == "kd"
    assert labels[Path("a/lead/model.onnx")] == "lead/model"  # every repeat is prefixed, the last one too
    assert labels[Path("a/student/model.int8.onnx")] == "student/model.int8"
    assert labels[Path("b/teacher/model.onnx")] == "teacher/model#2"


def test_compare_matches_same_named_files_by_identity(results: Path, tmp_path: Path) -> None:
    data = json.loads((results / "r.json").read_text())
    for row in data["rows"]:
        row["name"] = "model"  # two different files under one label: only the sha256 id tells them apart
    (tmp_path / "same.json").write_text(json.dumps(data))
    result = run_cli("benchmark", "compare", str(tmp_path / "same.json"), str(tmp_path / "same.json"),
                     "--max-auc-drop", "0", "--max-slowdown", "1.0", no_torch=True)  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
