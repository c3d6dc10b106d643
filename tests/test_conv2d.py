"""compress conv2d: the 2-D variant gives the same numbers and loads in every runtime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx

from runtime.card import read_card
from runtime.session import make_session
from tests.helpers import assert_one_line_error, run_cli


def test_conv2d_variant_is_equivalent(float_model: Path, int8_model: Path, tmp_path: Path) -> None:
    target = tmp_path / "m.conv2d.onnx"
    result = run_cli("compress", "conv2d", str(float_model), "-o", str(target), no_torch=True)
    assert result.returncode == 0, result.stderr
    model = onnx.load(target)
    weights = {t.name: t for t in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    assert convs and all(len(weights[n.input[1]].dims) == 4 for n in convs)
    x = np.random.default_rng(0).normal(0, 0.3, (3, 12, 1000)).astype(np.float32)
    a = make_session(float_model).run(["probabilities"], {"ecg": x})[0]
    b = make_session(target).run(["probabilities"], {"ecg": x})[0]
    assert np.abs(a - b).max() <= 1e-5
    assert read_card(model).lineage[-1]["step"] == "conv2d"
    matrix = run_cli("benchmark", "runtimes", str(target), "--json", no_torch=True)
    rows = json.loads(matrix.stdout)
    assert all(r["status"] == "ok" for r in rows if r["runtime"] in ("onnxruntime", "onnx.reference", "tract")), rows
    refused = run_cli("compress", "conv2d", str(int8_model), "-o", str(tmp_path / "q.onnx"), no_torch=True)
    assert_one_line_error(refused, "float")
