"""compress quantize / inspect: counts, closeness, card, torch-free CLI, bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from runtime.card import read_card
from runtime.session import make_session
from tests.helpers import assert_one_line_error, run_cli


@pytest.fixture(scope="module")
def quantized(float_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    target = tmp_path_factory.mktemp("q") / "m.int8.onnx"
    result = run_cli("compress", "quantize", str(float_model), "-o", str(target), "--json", "--report",
                     "--calib-samples", "64", no_torch=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    return target, payload


def test_quantize_runs_without_torch_and_writes_qdq(quantized: tuple[Path, dict]) -> None:
    path, payload = quantized
    model = onnx.load(path)
    ops = [n.op_type for n in model.graph.node]
    convs = ops.count("Conv")
    assert ops.count("QuantizeLinear") >= convs and ops.count("DequantizeLinear") >= 2 * convs
    assert not model.graph.value_info
    assert {o.domain or "" for o in model.opset_import} == {""}
    onnx.checker.check_model(model)
    assert payload["measured"]["quantize_linear"] == ops.count("QuantizeLinear")
    assert payload["sensitivity"] and all("sqnr_db" in row for row in payload["sensitivity"])


def test_int8_close_to_fp32_and_card_round_trip(float_model: Path, quantized: tuple[Path, dict]) -> None:
    path, payload = quantized
    x = np.random.default_rng(0).normal(0, 0.3, (8, 12, 1000)).astype(np.float32)
    fp32 = make_session(float_model).run(["probabilities"], {"ecg": x})[0]
    int8 = make_session(path).run(["probabilities"], {"ecg": x})[0]
    assert np.abs(fp32 - int8).max() < 0.1
    card = read_card(onnx.load(path))
    parent = read_card(onnx.load(float_model))
    assert card.lineage[-1]["step"] == "quantize" and len(card.lineage) == len(parent.lineage) + 1
    measured = card.compression["quantization"]["measured"]
    assert measured == payload["measured"]
    assert measured["bytes_int8"] == path.stat().st_size
    assert card.compression["quantization"]["config"]["calibration_split"] == "train"
    assert abs(measured["val"]["delta_macro_auc"]) < 0.1  # tiny, barely trained model on 32 validation records


def test_int8_matches_reference_evaluator(quantized: tuple[Path, dict]) -> None:
    from onnx.reference import ReferenceEvaluator

    path, _ = quantized
    x = np.random.default_rng(1).normal(0, 0.3, (2, 12, 1000)).astype(np.float32)
    ours = make_session(path, optimization="none").run(["logits"], {"ecg": x})[0]
    reference = ReferenceEvaluator(onnx.load(path)).run(["logits"], {"ecg": x})[0]
    assert np.abs(ours - reference).max() < 1e-3


def test_inspect_reports_qdq_and_lineage(quantized: tuple[Path, dict]) -> None:
    path, _ = quantized
    result = run_cli("compress", "inspect", str(path), "--json", no_torch=True)
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["quantize_linear"] > 0 and info["macs"] > 0 and info["parameters"] > 0
    assert info["lineage"][-1].startswith("quantize <- model.onnx")


def test_default_output_beside_input_and_never_overwrites(float_model: Path, tmp_path: Path) -> None:
    copy = tmp_path / "student.onnx"
    copy.write_bytes(float_model.read_bytes())
    result = run_cli("compress", "quantize", str(copy), "--calib-samples", "16", no_torch=True)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "student.int8.onnx").is_file()
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "student.int8.onnx")
    same = run_cli("compress", "quantize", str(copy), "-o", str(copy), no_torch=True)
    assert_one_line_error(same, "never overwrites", code=2)
    assert copy.read_bytes() == float_model.read_bytes()


def test_already_quantized_is_refused(quantized: tuple[Path, dict], tmp_path: Path) -> None:
    path, _ = quantized
    result = run_cli("compress", "quantize", str(path), "-o", str(tmp_path / "x.onnx"), no_torch=True)
    assert_one_line_error(result, "already quantized")
    assert not (tmp_path / "x.onnx").exists()


def test_not_onnx_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "model.onnx"
    bogus.write_bytes(b"this is not a protobuf \x00\xff" * 10)
    result = run_cli("compress", "quantize", str(bogus), no_torch=True)
    assert_one_line_error(result, "not an ONNX model")
    assert not (tmp_path / "model.int8.onnx").exists()


def test_nothing_to_quantize_warns_and_exits_zero(tmp_path: Path) -> None:
    node = helper.make_node("Relu", ["ecg"], ["probabilities"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("ecg", TensorProto.FLOAT, [1, 12, 1000])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 12, 1000])])  # fmt: skip
    path = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    result = run_cli("compress", "quantize", str(path), no_torch=True)
    assert result.returncode == 0 and "nothing written" in result.stderr.lower()
    assert not (tmp_path / "relu.int8.onnx").exists()


def test_no_card_and_no_data_names_the_flag(float_model: Path, tmp_path: Path) -> None:
    model = onnx.load(float_model)
    del model.metadata_props[:]
    path = tmp_path / "foreign.onnx"
    onnx.save(model, path)
    result = run_cli("compress", "quantize", str(path), no_torch=True)
    assert_one_line_error(result, "--data", code=2)


def test_data_that_does_not_match_the_model(float_model: Path, tmp_path: Path) -> None:
    from runtime.card import write_card

    model = onnx.load(float_model)
    card = read_card(model)
    card.fs = 500
    write_card(model, card)
    path = tmp_path / "fs500.onnx"
    onnx.save(model, path)
    result = run_cli("compress", "quantize", str(path), "--data", card.dataset["cache"], no_torch=True)
    assert_one_line_error(result, "500 Hz", "100 Hz")
    assert not (tmp_path / "fs500.int8.onnx").exists()


def test_max_auc_drop_search_keeps_nodes_in_float(float_model: Path, tmp_path: Path) -> None:
    from compress.quant_config import QuantizationConfig
    from compress.quantize import quantize_model

    result = quantize_model(float_model, tmp_path / "strict.onnx", config=QuantizationConfig(calib_samples=16),
                            max_auc_drop=0.0)  # fmt: skip
    measured = result.measured
    assert measured["val"]["delta_macro_auc"] >= -1e-9 or measured["kept_in_float"]
    assert read_card(onnx.load(tmp_path / "strict.onnx")).compression["quantization"]["measured"]["max_auc_drop"] == 0.0


def test_quantize_leaves_the_working_directory_clean(float_model: Path, tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.helpers import NO_TORCH, ROOT

    work = tmp_path / "cwd"
    work.mkdir()
    code = NO_TORCH + f"import sys; sys.path.insert(0, {str(ROOT)!r}); from compress.cli import main; main()"
    result = subprocess.run([sys.executable, "-c", code, "quantize", str(float_model), "-o", str(tmp_path / "q.onnx"),
                             "--calib-samples", "16"], capture_output=True, text=True, cwd=work)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert list(work.iterdir()) == []  # onnxruntime's pre-processing temp files stay in our temp folder


def test_depthwise_convolutions_follow_the_preset(float_model: Path, tmp_path: Path) -> None:
    """x86-vnni keeps depthwise convolutions in float (faster on onnxruntime's CPU kernels); the portable
    presets quantize them (bit-identical x86/ARM int8 outputs)."""
    from compress.quant_config import preset
    from compress.quantize import depthwise_convolutions, quantize_model

    assert depthwise_convolutions(onnx.load(float_model))  # sepresnet has grouped convolutions

    def float_weight_convs(path: Path) -> int:
        graph = onnx.load(path).graph
        initializers = {t.name for t in graph.initializer}
        return sum(1 for n in graph.node if n.op_type == "Conv" and n.input[1] in initializers
                   and any(a.name == "group" and a.i > 1 for a in n.attribute))  # fmt: skip

    vnni, portable = tmp_path / "vnni.int8.onnx", tmp_path / "avx2.int8.onnx"
    quantize_model(float_model, vnni, config=preset("x86-vnni").with_changes(calib_samples=32))
    quantize_model(float_model, portable, config=preset("avx2").with_changes(calib_samples=32))
    assert float_weight_convs(vnni) == len(depthwise_convolutions(onnx.load(float_model)))
    assert float_weight_convs(portable) == 0
