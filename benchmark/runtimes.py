"""``benchmark runtimes``: does each model load and agree in every ONNX runtime present here?

onnxruntime is the reference; ``onnx.reference.ReferenceEvaluator``, OpenCV DNN (classic
engine, which OpenCV 5 needs for QDQ), tract and OpenVINO (CPU plugin) run where installed.  For each: loads,
runs, max abs difference of probabilities vs onnxruntime, agreement of decisions at the
card's thresholds, and batch-1 p50 latency (which runtime is fastest for a tiny model on this CPU).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from runtime.card import has_card, read_card
from runtime.onnx_io import load_model
from runtime.session import make_session

Predict = Callable[[np.ndarray], np.ndarray]
Loader = Callable[[Path, onnx.ModelProto], Predict]  # load once, then predict probabilities many times


def _reference(path: Path, model: onnx.ModelProto) -> Predict:
    from onnx.reference import ReferenceEvaluator

    evaluator = ReferenceEvaluator(model)
    names = ([model.graph.output[0].name], model.graph.input[0].name)
    return lambda x: np.asarray(next(iter(evaluator.run(names[0], {names[1]: x}))))


def _opencv(path: Path, model: onnx.ModelProto) -> Predict:
    import cv2

    cv2.setNumThreads(1)  # timed single-threaded, like the other runtimes
    engine = getattr(cv2.dnn, "ENGINE_CLASSIC", None)
    net = cv2.dnn.readNetFromONNX(str(path), engine) if engine is not None else cv2.dnn.readNetFromONNX(str(path))

    def predict(x: np.ndarray) -> np.ndarray:
        outputs = []
        for row in x:  # one record at a time: OpenCV 4.x is wrong for int8 at batch > 1
            net.setInput(row[None], model.graph.input[0].name)
            outputs.append(net.forward(model.graph.output[0].name))
        return np.concatenate(outputs)

    return predict


def _tract(path: Path, model: onnx.ModelProto) -> Predict:
    import tract

    runnables: dict[tuple[int, ...], Any] = {}

    def predict(x: np.ndarray) -> np.ndarray:
        if x.shape not in runnables:  # tract plans for one concrete shape
            loaded = tract.onnx().load(str(path))
            loaded.set_input_fact(0, ",".join(str(d) for d in x.shape) + ",f32")
            runnables[x.shape] = loaded.into_model().into_runnable()
        return np.asarray(runnables[x.shape].run([x])[0].to_numpy())

    return predict


def _openvino(path: Path, model: onnx.ModelProto) -> Predict:
    import openvino

    compiled = openvino.Core().compile_model(
        str(path), "CPU", {"INFERENCE_NUM_THREADS": 1, "INFERENCE_PRECISION_HINT": "f32"}
    )
    output = compiled.output(model.graph.output[0].name)
    request = compiled.create_infer_request()  # one request reused: the batch-1 loop a device would run
    return lambda x: np.asarray(request.infer({0: x})[output])


def _onnxruntime(path: Path, model: onnx.ModelProto) -> Predict:
    session = make_session(path, threads=1)
    names = ([model.graph.output[0].name], model.graph.input[0].name)
    return lambda x: np.asarray(session.run(names[0], {names[1]: x})[0])


RUNTIMES: dict[str, tuple[str, Loader]] = {
    "onnxruntime": ("onnxruntime", _onnxruntime),
    "onnx.reference": ("onnx", _reference),
    "opencv": ("cv2", _opencv),
    "tract": ("tract", _tract),
    "openvino": ("openvino", _openvino),
}


def _installed(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def p50_ms(predict: Predict, x: np.ndarray, seconds: float, min_calls: int = 3) -> float:
    """Median wall time of ``predict(x)`` over ``seconds`` (at least ``min_calls`` calls), after one warm-up call."""
    predict(x)
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < min_calls or time.perf_counter() < deadline:
        start = time.perf_counter()
        predict(x)
        times.append(time.perf_counter() - start)
    return float(np.median(times) * 1000.0)


def check_runtimes(path: Path, x: np.ndarray, time_s: float = 1.0) -> list[dict[str, Any]]:
    """One row per runtime for one model: loads, agrees with onnxruntime, and its batch-1 p50 latency
    (single-threaded where the runtime lets us choose; ``time_s`` <= 0 skips timing)."""
    model = load_model(path)
    thresholds = np.asarray(read_card(model, str(path)).thresholds) if has_card(model) else 0.5
    reference = _onnxruntime(path, model)(x)
    rows = []
    for name, (module, loader) in RUNTIMES.items():
        row: dict[str, Any] = {"model": path.name, "runtime": name}
        if not _installed(module):
            rows.append({**row, "status": "not installed"})
            continue
        try:
            predict = loader(path, model)
            out = predict(x)
            if out.shape != reference.shape:
                raise ValueError(f"output shape {out.shape} != {reference.shape}")
            timing = {"p50_ms": p50_ms(predict, np.ascontiguousarray(x[:1]), time_s)} if time_s > 0 else {}
        except Exception as exc:
            rows.append({**row, "status": "failed", "error": " ".join(str(exc).split())[:200]})
            continue
        rows.append({**row, "status": "ok", "max_abs_diff": float(np.abs(out - reference).max()),
                     "decision_agreement": float(np.mean((out >= thresholds) == (reference >= thresholds))),
                     **timing})  # fmt: skip
    fastest = min((r["p50_ms"] for r in rows if "p50_ms" in r), default=None)
    for row in rows:
        if fastest and "p50_ms" in row:
            row["x_slower_than_fastest"] = row["p50_ms"] / fastest
    return rows
