"""``compress conv2d``: the same network with every 1-D convolution and pooling as 2-D (height 1).

Some providers and accelerators (XNNPACK, many NPUs) only implement 2-D convolutions.  Each
``Conv``/``MaxPool``/``AveragePool`` over ``[N, C, T]`` becomes ``Unsqueeze(axis 2) -> 2-D op
with kernel [1, k] -> Squeeze(axis 2)``; weights are reshaped ``[Co, Ci, k] -> [Co, Ci, 1, k]``.
The numbers are the same (tested).  Float models only: quantize the converted file afterwards.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from compress.lineage import lineage_step
from runtime.card import has_card, read_card, write_card
from runtime.errors import ModelError, UsageError
from runtime.onnx_io import load_model, save_model, tensor_consumers, tensor_producers

AXIS = "conv2d_axis_2"
SPATIAL_OPS = ("Conv", "MaxPool", "AveragePool")


def _lift(values: list[int], name: str) -> list[int]:
    if name == "pads":  # [begin, end] -> [0, begin, 0, end]
        return [0, values[0], 0, values[1]]
    return [1, *values]


def _is_1d(node: onnx.NodeProto, ranks: dict[str, int]) -> bool:
    kernel = next((a.ints for a in node.attribute if a.name == "kernel_shape"), None)
    if kernel is not None:
        return len(kernel) == 1
    return node.op_type == "Conv" and ranks.get(node.input[1]) == 3


def to_conv2d(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` with 1-D spatial ops rewritten as 2-D (see the module docstring)."""
    if any(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in model.graph.node):
        raise ModelError("conv2d rewrites float models; convert the float parent, then quantize the result")
    result = copy.deepcopy(model)
    graph = result.graph
    initializers = {t.name: t for t in graph.initializer}
    ranks = {name: len(t.dims) for name, t in initializers.items()}
    graph.initializer.append(numpy_helper.from_array(np.array([2], dtype=np.int64), AXIS))
    reshaped: set[str] = set()
    nodes: list[onnx.NodeProto] = []
    changed = 0
    for node in graph.node:
        if node.op_type not in SPATIAL_OPS or not _is_1d(node, ranks):
            nodes.append(node)
            continue
        changed += 1
        lifted_in, lifted_out = f"{node.output[0]}__4d_in", f"{node.output[0]}__4d_out"
        nodes.append(helper.make_node("Unsqueeze", [node.input[0], AXIS], [lifted_in]))
        new = copy.deepcopy(node)
        new.input[0] = lifted_in
        new.output[0] = lifted_out
        for attribute in new.attribute:
            if attribute.name in ("kernel_shape", "strides", "dilations", "pads") and attribute.ints:
                values = _lift(list(attribute.ints), attribute.name)
                del attribute.ints[:]
                attribute.ints.extend(values)
        if node.op_type == "Conv":
            weight_name = node.input[1]
            if weight_name not in initializers:
                raise ModelError(f"Conv {node.name or node.output[0]} has a computed weight; cannot rewrite it")
            if weight_name not in reshaped:
                weight = numpy_helper.to_array(initializers[weight_name])
                initializers[weight_name].CopyFrom(numpy_helper.from_array(weight[:, :, None, :], weight_name))
                reshaped.add(weight_name)
        nodes.append(new)
        nodes.append(helper.make_node("Squeeze", [lifted_out, AXIS], [node.output[0]]))
    if not changed:
        raise ModelError("the model has no 1-D convolution or pooling to rewrite")
    del graph.node[:]
    graph.node.extend(_drop_round_trips(nodes))
    del graph.value_info[:]
    onnx.checker.check_model(result)
    return result


def _drop_round_trips(nodes: list[onnx.NodeProto]) -> list[onnx.NodeProto]:
    """Remove ``Squeeze(2) -> Unsqueeze(2)`` pairs where the squeezed tensor has no other use."""
    readers, producer = tensor_consumers(nodes), tensor_producers(nodes)
    rename: dict[str, str] = {}
    dropped: set[int] = set()
    for node in nodes:
        if node.op_type == "Unsqueeze" and node.input[1] == AXIS:
            source = producer.get(node.input[0])
            if source is not None and source.op_type == "Squeeze" and len(readers.get(node.input[0], [])) == 1:
                rename[node.output[0]] = source.input[0]
                dropped.update({id(node), id(source)})
    kept = []
    for node in nodes:
        if id(node) in dropped:
            continue
        node.input[:] = [rename.get(name, name) for name in node.input]
        kept.append(node)
    return kept


def convert(model_path: str | Path, output: str | Path) -> Path:
    """Write the 2-D variant of ``model_path`` with its card (lineage step ``conv2d``)."""
    source, target = Path(model_path), Path(output)
    if source.resolve() == target.resolve():
        raise UsageError(f"-o {target} is the input file; choose another output")
    model = load_model(source)
    converted = to_conv2d(model)
    if has_card(model):
        card = read_card(model, str(source))
        card.lineage = lineage_step(source, "conv2d", {}, card)
        write_card(converted, card)
    return save_model(converted, target)
