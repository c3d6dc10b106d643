"""The hardware's measured limit: single-thread peak MAC/s of large fp32 and int8 matrix products.

A row's achieved MAC/s divided by this peak shows how far a model is from what the CPU
can do at its precision (onnxruntime fp32 ``MatMul`` and int8 ``MatMulInteger``).
"""

from __future__ import annotations

import time

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from runtime.session import make_session

SIZE = 512


def _matmul_model(integer: bool) -> bytes:
    rng = np.random.default_rng(0)
    if integer:
        weight = numpy_helper.from_array(rng.integers(-127, 127, (SIZE, SIZE)).astype(np.int8), "w")
        node = helper.make_node("MatMulInteger", ["x", "w"], ["y"])
        x_type, y_type = TensorProto.UINT8, TensorProto.INT32
    else:
        weight = numpy_helper.from_array(rng.normal(size=(SIZE, SIZE)).astype(np.float32), "w")
        node = helper.make_node("MatMul", ["x", "w"], ["y"])
        x_type, y_type = TensorProto.FLOAT, TensorProto.FLOAT
    graph = helper.make_graph([node], "peak", [helper.make_tensor_value_info("x", x_type, [SIZE, SIZE])],
                              [helper.make_tensor_value_info("y", y_type, [SIZE, SIZE])], [weight])  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString()


def peak_macs_per_s(integer: bool, seconds: float = 1.0, threads: int = 1) -> float:
    """Best observed MAC/s of a 512x512x512 product over ``seconds``."""
    session = make_session(_matmul_model(integer), threads=threads)
    rng = np.random.default_rng(1)
    x = (
        rng.integers(0, 255, (SIZE, SIZE)).astype(np.uint8)
        if integer
        else rng.normal(size=(SIZE, SIZE)).astype(np.float32)
    )
    for _ in range(3):
        session.run(None, {"x": x})
    best = float("inf")
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        session.run(None, {"x": x})
        best = min(best, time.perf_counter() - start)
    return SIZE**3 / best


def is_int8(model: onnx.ModelProto) -> bool:
    """True for QDQ or integer-op graphs."""
    return any(
        n.op_type in ("QuantizeLinear", "DequantizeLinear", "ConvInteger", "QLinearConv") for n in model.graph.node
    )


def call_overhead_ms(shape: tuple[int, ...] = (1, 12, 1000), seconds: float = 0.5) -> float:
    """Median time of one ``session.run`` of a one-node graph (Identity) on a float input of ``shape``:
    the fixed cost every call pays (argument checks, input/output copies, allocation) before arithmetic."""
    from benchmark.latency import measure_latency

    node = helper.make_node("Identity", ["x"], ["y"])
    graph = helper.make_graph([node], "overhead", [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, list(shape))])  # fmt: skip
    session = make_session(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]).SerializeToString())
    return measure_latency(session, [np.zeros(shape, dtype=np.float32)], 0.05, seconds, label="call overhead").p50_ms
