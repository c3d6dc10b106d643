"""Bring your own model: every file of the foreign corpus goes through describe, classify,
quantize and benchmark, and the described file scores exactly as the original does."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from runtime.onnx_io import sha256_file
from tests.conftest import DATA
from tests.foreign_models import CORPUS, Foreign, export_foreign, to_native
from tests.helpers import assert_one_line_error, run_cli

REAL_RECORD = DATA / "ptbxl-records" / "records100" / "00000" / "00001_lr.hea"


def _fingerprint(path: Path) -> list[str]:
    return [sha256_file(p) for p in sorted(path.parent.glob(path.name + "*"))]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("foreign")
    return {entry.name: export_foreign(entry, folder) for entry in CORPUS}


@pytest.mark.parametrize("entry", CORPUS, ids=[e.name for e in CORPUS])
def test_every_command_takes_a_described_foreign_file(
    entry: Foreign, corpus: dict[str, Path], synth_cache, tmp_path: Path
) -> None:
    original = corpus[entry.name]
    before = _fingerprint(original)
    described = tmp_path / f"{entry.name}.described.onnx"
    result = run_cli("compress", "describe", str(original), *entry.describe, "-o", str(described), no_torch=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == str(described)
    info = json.loads(run_cli("runtime", "info", str(described), no_torch=True).stdout)
    assert info["window"] == entry.example[-2 if entry.name == "keras-channels-last" else -1]

    if entry.ptbxl_like:
        classify = run_cli("runtime", "classify", str(REAL_RECORD), "--model", str(described), "--json", no_torch=True)
        quantize = run_cli("compress", "quantize", str(described), "--data", str(synth_cache.path),
                           "--calib-samples", "32", no_torch=True)  # fmt: skip
    else:
        beats = np.sin(np.linspace(0, 60, 720, dtype=np.float32))[None, :]
        np.save(tmp_path / "record.npy", beats)
        classify = run_cli("runtime", "classify", str(tmp_path / "record.npy"), "--fs", "360", "--leads", "II",
                           "--model", str(described), "--json", no_torch=True)  # fmt: skip
        inputs = np.random.default_rng(0).normal(0, 0.5, (40, 1, 187)).astype(np.float32)
        np.save(tmp_path / "inputs.npy", inputs)
        quantize = run_cli("compress", "quantize", str(described), "--calibration", str(tmp_path / "inputs.npy"),
                           no_torch=True)  # fmt: skip
    assert classify.returncode == 0, classify.stderr
    probabilities = json.loads(classify.stdout)[0]["probabilities"]
    assert all(0 <= value <= 1 for value in probabilities.values())
    assert quantize.returncode == 0, quantize.stderr
    int8 = Path(quantize.stdout.strip().splitlines()[-1])
    assert int8.is_file()
    from runtime.onnx_io import load_model

    assert {node.domain for node in load_model(int8).graph.node} <= {"", "ai.onnx"}  # QDQ in standard domains

    data = ["--data", str(synth_cache.path)] if entry.ptbxl_like else []
    bench = run_cli("benchmark", "run", str(described), str(int8), *data, "--time-s", "0.1", "--warmup-s", "0",
                    "--bootstrap", "0", "--no-floor", "-o", str(tmp_path / "b.json"), no_torch=True)  # fmt: skip
    assert bench.returncode == 0, bench.stderr
    rows = json.loads((tmp_path / "b.json").read_text())["rows"]
    assert len(rows) == 2 and all(row["p50_ms"] > 0 for row in rows)
    assert all((row.get("macro_auc") is not None) == entry.ptbxl_like for row in rows)
    assert (rows[0]["macs_uncounted_nodes"] > 0) == (entry.name == "lstm")  # an LSTM's MACs are not modelled
    assert _fingerprint(original) == before


@pytest.mark.parametrize("entry", [e for e in CORPUS if e.ptbxl_like], ids=lambda e: e.name)
def test_described_file_scores_like_the_original(
    entry: Foreign, corpus: dict[str, Path], synth_cache, tmp_path: Path
) -> None:
    import onnxruntime as ort

    from benchmark.harness import BenchmarkConfig, run_benchmark
    from compress.describe import describe_model
    from runtime.metrics import macro_auc

    described = tmp_path / "d.onnx"
    options = dict(zip(entry.describe[::2], entry.describe[1::2], strict=True))
    describe_model(corpus[entry.name], described, {
        "fs": float(options["--fs"]), "leads": None, "classes": options["--classes"], "layout": None, "units": "mV",
        "output_kind": None, "window": None})  # fmt: skip
    result = run_benchmark([described], synth_cache.path, BenchmarkConfig(time_s=0.05, warmup_s=0, bootstrap=0,
                                                                          floor=False))  # fmt: skip
    session = ort.InferenceSession(str(corpus[entry.name]), providers=["CPUExecutionProvider"])
    indices = synth_cache.indices("test")
    x = synth_cache.millivolts(indices).astype(np.float32)
    native = to_native(entry, x)
    batch = 1 if not entry.dynamic_batch else len(native)
    scores = np.concatenate([session.run(None, {entry.input_name: native[i : i + batch]})[0]
                             for i in range(0, len(native), batch)])  # fmt: skip
    reference = macro_auc(np.asarray(synth_cache.labels[indices]), scores)
    assert abs(result["rows"][0]["macro_auc"] - reference) <= 1e-4


def test_describe_asks_one_line_for_what_it_cannot_infer(corpus: dict[str, Path], tmp_path: Path) -> None:
    keras = corpus["keras-channels-last"]
    out = tmp_path / "k.onnx"
    no_rate = run_cli("compress", "describe", str(keras), "--classes", "A,B,C,D,E", "-o", str(out), no_torch=True)
    assert_one_line_error(no_rate, "--fs", code=2)
    no_classes = run_cli("compress", "describe", str(keras), "--fs", "100", "-o", str(out), no_torch=True)
    assert_one_line_error(no_classes, "5 outputs", "--classes", code=2)
    wrong_count = run_cli("compress", "describe", str(keras), "--fs", "100", "--classes", "A,B", "-o", str(out))
    assert_one_line_error(wrong_count, "2 classes", "5 outputs", code=2)
    beats = corpus["beats-360hz-opset11"]
    no_leads = run_cli("compress", "describe", str(beats), "--fs", "360", "--classes", "N,S,V,F,Q", "-o", str(out))
    assert_one_line_error(no_leads, "1 lead", "--leads", code=2)
    assert not out.exists()
    described = tmp_path / "once.onnx"
    assert run_cli("compress", "describe", str(keras), "--fs", "100", "--classes", "A,B,C,D,E", "-o",
                   str(described)).returncode == 0  # fmt: skip
    again = run_cli("compress", "describe", str(described), "--fs", "100", "--classes", "A,B,C,D,E", "-o",
                    str(tmp_path / "twice.onnx"))  # fmt: skip
    assert_one_line_error(again, "already has a model card", code=2)


def test_quantize_with_calibration_inputs_reports_agreement(corpus: dict[str, Path], tmp_path: Path) -> None:
    beats = corpus["beats-360hz-opset11"]
    inputs = np.random.default_rng(1).normal(0, 0.5, (50, 1, 187)).astype(np.float32)
    np.save(tmp_path / "inputs.npy", inputs)
    result = run_cli("compress", "quantize", str(beats), "--calibration", str(tmp_path / "inputs.npy"),
                     "-o", str(tmp_path / "b.int8.onnx"), "--json", no_torch=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout[: result.stdout.rindex("}") + 1])["measured"]
    assert measured["calibration_inputs"] == 40 and measured["checked_inputs"] == 10
    agreement = measured["agreement"]["y"]
    assert agreement["sqnr_db"] > 10 and 0 <= agreement["decision_agreement"] <= 1
    np.save(tmp_path / "wrong.npy", np.zeros((5, 2, 187), dtype=np.float32))
    wrong = run_cli("compress", "quantize", str(beats), "--calibration", str(tmp_path / "wrong.npy"),
                    "-o", str(tmp_path / "w.onnx"))  # fmt: skip
    assert_one_line_error(wrong, "axis 1 has 2", code=2)
    assert not (tmp_path / "w.onnx").exists()


def test_distill_and_prune_take_a_described_foreign_file(corpus: dict[str, Path], synth_cache, tmp_path: Path) -> None:
    from runtime.graph_stats import parameter_count
    from runtime.onnx_io import load_model

    described = tmp_path / "keras.described.onnx"
    assert run_cli("compress", "describe", str(corpus["keras-channels-last"]), "--fs", "100", "--classes",
                   "NORM,MI,STTC,CD,HYP", "-o", str(described)).returncode == 0  # fmt: skip
    common = ("--data", str(synth_cache.path), "--threads", "1", "--max-train", "64")
    student = run_cli("compress", "distill", "--teacher", str(described), "--arch", "sepresnet", "--width", "0.25",
                      "--epochs", "1", "-o", str(tmp_path / "student.onnx"), *common)  # fmt: skip
    assert student.returncode == 0, student.stderr
    pruned = run_cli("compress", "prune", str(described), "--pruning-ratio", "0.5", "--round-to", "4",
                     "--finetune-epochs", "1", "-o", str(tmp_path / "pruned.onnx"), *common)  # fmt: skip
    assert pruned.returncode == 0, pruned.stderr
    assert parameter_count(load_model(tmp_path / "pruned.onnx")) < parameter_count(load_model(described))
    classify = run_cli("runtime", "classify", str(REAL_RECORD), "--model", str(tmp_path / "pruned.onnx"))
    assert classify.returncode == 0, classify.stderr
    monitor = run_cli("runtime", "monitor", str(REAL_RECORD), "--model", str(described), "--json", no_torch=True)
    assert monitor.returncode == 0, monitor.stderr
    assert json.loads(monitor.stdout.strip().splitlines()[-1])["summary"]


def test_prune_names_the_op_the_converter_lacks(synth_cache, tmp_path: Path) -> None:
    from tests.foreign_models import graph_with_op_the_converter_lacks

    source = graph_with_op_the_converter_lacks(tmp_path / "shrink.onnx")
    described = tmp_path / "shrink.described.onnx"
    assert run_cli("compress", "describe", str(source), "--fs", "100", "--classes", "NORM,MI,STTC,CD,HYP",
                   "-o", str(described)).returncode == 0  # fmt: skip
    result = run_cli("compress", "prune", str(described), "--pruning-ratio", "0.5", "--data", str(synth_cache.path), "-o",
                     str(tmp_path / "p.onnx"))  # fmt: skip
    assert_one_line_error(result, "Shrink", "onnx2torch")
    assert not (tmp_path / "p.onnx").exists()
