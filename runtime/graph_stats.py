"""Static facts about an ONNX graph: op counts, parameters and MACs (torch-free).

MACs come from the graph itself after shape inference at a concrete input shape
(batch 1, the card's leads and window): ``Conv`` costs output elements x (input
channels / groups) x kernel size, ``Gemm``/``MatMul`` M x N x K.  Quantized QDQ graphs
keep their ``Conv`` nodes, so fp32 and int8 files of one network report the same MACs.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import onnx
from onnx import shape_inference

WEIGHTED_OPS = ("Conv", "ConvInteger", "QLinearConv", "Gemm", "MatMul", "MatMulInteger", "BatchNormalization")


def op_counts(model: onnx.ModelProto) -> dict[str, int]:
    """How many nodes of each op type (QuantizeLinear/DequantizeLinear included)."""
    return dict(sorted(Counter(node.op_type for node in model.graph.node).items()))


def _producers(model: onnx.ModelProto) -> dict[str, onnx.NodeProto]:
    return {output: node for node in model.graph.node for output in node.output}


def parameter_count(model: onnx.ModelProto) -> int:
    """Elements of the weight and bias tensors of weighted ops (through DequantizeLinear for QDQ).

    Counted as torch counts parameters: BatchNorm running statistics are not parameters.
    """
    initializers = {t.name: t for t in model.graph.initializer}
    producers = _producers(model)
    counted: set[str] = set()
    total = 0
    for node in model.graph.node:
        if node.op_type not in WEIGHTED_OPS:
            continue
        # BatchNormalization: scale and bias only (running statistics are buffers, as torch counts)
        inputs = node.input[1:3] if node.op_type == "BatchNormalization" else node.input[1:]
        for name in inputs:
            source = producers.get(name)
            if source is not None and source.op_type == "DequantizeLinear":
                name = source.input[0]
            key = name
            if source is not None and source.op_type == "Identity":  # a tensor the exporter shared
                name = source.input[0]
            if name in initializers and key not in counted:
                counted.add(key)
                total += int(np.prod(initializers[name].dims)) if initializers[name].dims else 1
    return total


def _shapes(model: onnx.ModelProto, input_shape: list[int]) -> dict[str, list[int]]:
    concrete = onnx.ModelProto()
    concrete.CopyFrom(model)
    graph_input = concrete.graph.input[0]
    dims = graph_input.type.tensor_type.shape.dim
    for dim, value in zip(dims, input_shape, strict=False):
        dim.ClearField("dim_param")
        dim.dim_value = value
    inferred = shape_inference.infer_shapes(concrete, data_prop=True)
    shapes: dict[str, list[int]] = {}
    for info in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]:
        tensor_dims = info.type.tensor_type.shape.dim
        shapes[info.name] = [d.dim_value if d.HasField("dim_value") else -1 for d in tensor_dims]
    for tensor in inferred.graph.initializer:
        shapes[tensor.name] = list(tensor.dims)
    return shapes


UNCOUNTED_OPS = ("LSTM", "GRU", "RNN", "ConvTranspose", "Einsum", "QLinearMatMul")


def count_macs(model: onnx.ModelProto, input_shape: list[int]) -> int:
    """Multiply-accumulates of one forward pass at ``input_shape`` (e.g. ``[1, 12, 1000]``)."""
    return mac_count(model, input_shape)[0]


def mac_count(model: onnx.ModelProto, input_shape: list[int]) -> tuple[int, list[str]]:
    """MACs of Conv/Gemm/MatMul nodes, and the nodes that do arithmetic but were not counted
    (unknown shapes, or ops like LSTM that the counter does not model): the total is a lower bound then."""
    shapes = _shapes(model, input_shape)
    producers = _producers(model)
    total = 0
    skipped: list[str] = []
    for node in model.graph.node:
        if node.op_type in UNCOUNTED_OPS:
            skipped.append(node.name or node.op_type)
        if node.op_type in ("Conv", "ConvInteger", "QLinearConv"):
            weight_index = 3 if node.op_type == "QLinearConv" else 1
            weight_name = node.input[weight_index]
            source = producers.get(weight_name)
            if source is not None and source.op_type == "DequantizeLinear":
                weight_name = source.input[0]
            weight = shapes.get(weight_name)
            out = shapes.get(node.output[0])
            if not weight or not out or min(out) < 0:
                skipped.append(node.name or node.op_type)
                continue
            # weight: [C_out, C_in / groups, k...]; each output element needs C_in/groups * k MACs
            total += int(np.prod(out)) * int(np.prod(weight[1:]))
        elif node.op_type in ("Gemm", "MatMul", "MatMulInteger"):
            a = shapes.get(node.input[0])
            out = shapes.get(node.output[0])
            if not a or not out or min(out) < 0 or min(a) < 0:
                skipped.append(node.name or node.op_type)
                continue
            transposed = node.op_type == "Gemm" and any(at.name == "transA" and at.i for at in node.attribute)
            k = a[-2] if transposed else a[-1]
            total += int(np.prod(out)) * int(k)
    return total, skipped


def graph_summary(model: onnx.ModelProto, input_shape: list[int]) -> dict[str, Any]:
    """Op counts, Q/DQ counts, parameters and MACs in one dict."""
    ops = op_counts(model)
    macs, skipped = mac_count(model, input_shape)
    return {
        "ops": ops,
        "nodes": sum(ops.values()),
        "quantize_linear": ops.get("QuantizeLinear", 0),
        "dequantize_linear": ops.get("DequantizeLinear", 0),
        "parameters": parameter_count(model),
        "macs": macs,
        "macs_uncounted_nodes": len(skipped),  # > 0: ``macs`` is a lower bound
    }
