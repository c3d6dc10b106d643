"""``benchmark runtimes``: does each model load and agree in every ONNX runtime present here?

onnxruntime is the reference; ``onnx.reference.ReferenceEvaluator``, OpenCV DNN (classic
engine, which OpenCV 5 needs for QDQ) and tract run where installed.  For each: loads,
runs, max abs difference of probabilities vs onnxruntime, agreement of decisions at the
card's thresholds.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from runtime.card import has_card, read_card
from runtime.onnx_io import load_model
from runtime.session import make_session

Runner = Callable[[Path, onnx.ModelProto, np.ndarray], np.ndarray]


def _reference(path: Path, model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    from onnx.reference import ReferenceEvaluator

    outputs = ReferenceEvaluator(model).run([model.graph.output[0].name], {model.graph.input[0].name: x})
    return np.asarray(next(iter(outputs)))


def _opencv(path: Path, model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    import cv2

    engine = getattr(cv2.dnn, "ENGINE_CLASSIC", None)
    net = cv2.dnn.readNetFromONNX(str(path), engine) if engine is not None else cv2.dnn.readNetFromONNX(str(path))
    outputs = []
    for row in x:  # one record at a time: OpenCV 4.x is wrong for int8 at batch > 1
        net.setInput(row[None], model.graph.input[0].name)
        outputs.append(net.forward(model.graph.output[0].name))
    return np.concatenate(outputs)


def _tract(path: Path, model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    import tract

    loaded = tract.onnx().load(str(path))
    loaded.set_input_fact(0, ",".join(str(d) for d in x.shape) + ",f32")
    runnable = loaded.into_model().into_runnable()
    return np.asarray(runnable.run([x])[0].to_numpy())


def _onnxruntime(path: Path, model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = make_session(path)
    return np.asarray(session.run([model.graph.output[0].name], {model.graph.input[0].name: x})[0])


RUNTIMES: dict[str, tuple[str, Runner]] = {
    "onnxruntime": ("onnxruntime", _onnxruntime),
    "onnx.reference": ("onnx", _reference),
    "opencv": ("cv2", _opencv),
    "tract": ("tract", _tract),
}


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def check_runtimes(path: Path, x: np.ndarray) -> list[dict[str, Any]]:
    """One row per runtime for one model."""
    model = load_model(path)
    thresholds = np.asarray(read_card(model, str(path)).thresholds) if has_card(model) else 0.5
    reference = _onnxruntime(path, model, x)
    rows = []
    for name, (module, runner) in RUNTIMES.items():
        row: dict[str, Any] = {"model": path.name, "runtime": name}
        if not _installed(module):
            rows.append({**row, "status": "not installed"})
            continue
        try:
            out = runner(path, model, x)
        except Exception as exc:
            rows.append({**row, "status": "failed", "error": " ".join(str(exc).split())[:200]})
            continue
        if out.shape != reference.shape:
            rows.append({**row, "status": "failed", "error": f"output shape {out.shape} != {reference.shape}"})
            continue
        rows.append({**row, "status": "ok", "max_abs_diff": float(np.abs(out - reference).max()),
                     "decision_agreement": float(np.mean((out >= thresholds) == (reference >= thresholds)))})  # fmt: skip
    return rows
