"""``compress describe``: give a foreign ECG model our card and (by default) our input/output contract.

Users arrive with files exported elsewhere: Keras channels-last ``[N, 1000, 12]`` with a Sigmoid,
PyTorch single-lead beats ``[N, 1, 187]`` with logits, Conv1D lowered to Conv2D ``[N, 12, 1, T]``,
a fixed batch of 1, inputs in microvolts.  ``describe`` infers what the graph shows (layout, lead
count, window, batch, whether the output is probabilities, logits or a softmax), asks in one line
for what it cannot know (sampling rate, class names, lead names), and writes a copy whose input
is ``ecg`` ``[batch, leads, samples]`` in mV and whose outputs are ``probabilities`` and
``logits``: a Reshape/Transpose/scale prologue and a Sigmoid/Log epilogue around the original
graph.  Every other command then treats the copy like a file of ours.  The original file is
never changed.  Torch-free.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from compress.lineage import lineage_step
from runtime.card import ModelCard, has_card, write_card
from runtime.errors import ModelError, UsageError
from runtime.graph_stats import parameter_count
from runtime.leads import STANDARD_LEADS, parse_lead_list
from runtime.onnx_io import clean_for_runtimes, graph_inputs, load_model, save_model, tensor_dims, upgrade_opset
from runtime.session import INPUT_NAME, LOGITS, PROBABILITIES

LAYOUTS = ("channels-first", "channels-last", "conv2d", "flat")  # [N,L,T], [N,T,L], [N,L,1,T], [N,T]
UNITS = {"mV": 1.0, "uV": 1000.0, "V": 0.001}  # factor from mV to the model's unit
OUTPUT_KINDS = ("probabilities", "logits", "softmax")
MIN_OPSET = 13  # Clip with tensor bounds, Reshape with allowzero semantics we rely on
MAX_LEADS = 15
EPSILON = 1e-7
PREFIX = "ecgshrink_"
FOREIGN_ARCHITECTURE = "foreign"


@dataclass(frozen=True)
class Inferred:
    """What the graph itself says about its input and output (``None``: the graph does not say)."""

    input_name: str
    output_name: str
    layout: str | None
    leads: int | None
    window: int | None
    fixed_batch: bool
    outputs: int | None
    output_kind: str


@dataclass(frozen=True)
class Description:
    """Everything the card and the wrapper need; what was not inferred came from the user."""

    fs: float
    leads: tuple[str, ...]
    classes: tuple[str, ...]
    window: int
    layout: str
    units: str
    output_kind: str
    fixed_batch: bool


def _layout(dims: list[int | None]) -> tuple[str | None, int | None, int | None]:
    """(layout, leads, window) from the input shape, ``None`` where it is ambiguous."""
    if len(dims) == 2:
        return "flat", 1, dims[1]
    if len(dims) == 4 and dims[2] == 1:
        return "conv2d", dims[1], dims[3]
    if len(dims) == 3:
        a, b = dims[1], dims[2]
        if a is not None and a <= MAX_LEADS and (b is None or b > MAX_LEADS):
            return "channels-first", a, b
        if b is not None and b <= MAX_LEADS and (a is None or a > MAX_LEADS):
            return "channels-last", b, a
    return None, None, None


def _producer(model: onnx.ModelProto, name: str) -> onnx.NodeProto | None:
    return next((node for node in model.graph.node if name in node.output), None)


def _output_kind(model: onnx.ModelProto, name: str) -> str:
    """Sigmoid -> probabilities, Softmax -> softmax, anything else -> logits (looking through reshapes)."""
    node = _producer(model, name)
    while node is not None and node.op_type in ("Identity", "Reshape", "Flatten", "Squeeze", "Cast"):
        node = _producer(model, node.input[0])
    if node is None:
        return "logits"
    return {"Sigmoid": "probabilities", "Softmax": "softmax", "LogSoftmax": "logits"}.get(node.op_type, "logits")


def infer(model: onnx.ModelProto) -> Inferred:
    """Read layout, lead count, window, batch and output kind from the graph."""
    inputs = graph_inputs(model)
    if len(inputs) != 1:
        names = ", ".join(i.name for i in inputs)
        raise ModelError(f"the model has {len(inputs)} inputs ({names}); describe handles one ECG input")
    if inputs[0].type.tensor_type.elem_type != TensorProto.FLOAT:
        raise ModelError(f"input {inputs[0].name!r} is not float32; describe handles float ECG inputs")
    dims = tensor_dims(inputs[0])
    layout, leads, window = _layout(dims)
    output = model.graph.output[0]
    out_dims = tensor_dims(output)
    return Inferred(
        input_name=inputs[0].name, output_name=output.name, layout=layout, leads=leads, window=window,
        fixed_batch=bool(dims) and dims[0] == 1, outputs=out_dims[-1] if out_dims else None,
        output_kind=_output_kind(model, output.name),
    )  # fmt: skip


def complete(
    inferred: Inferred,
    fs: float | None,
    leads: str | None,
    classes: str | None,
    layout: str | None,
    units: str,
    output_kind: str | None,
    window: int | None,
) -> Description:
    """Merge what the graph says with the options; one line per thing that is still unknown."""
    chosen_layout = layout or inferred.layout
    if chosen_layout is None:
        raise UsageError("the input shape does not show which axis holds the leads; pass --layout "
                         "channels-first|channels-last|conv2d|flat")  # fmt: skip
    if fs is None:
        raise UsageError("the sampling rate is not in the graph; pass --fs HZ (e.g. --fs 100)")
    if not float(fs).is_integer():
        raise UsageError(f"--fs {fs:g}: the model card takes a whole number of Hz")
    count = inferred.leads if layout is None or layout == inferred.layout else None
    if leads is None:
        if count == len(STANDARD_LEADS):
            lead_names = STANDARD_LEADS
        else:
            shown = f"takes {count} lead(s)" if count else "does not show its lead count"
            raise UsageError(f"the model {shown}; name them in input order with --leads (e.g. --leads II)")
    else:
        lead_names = parse_lead_list(leads)
        if count is not None and len(lead_names) != count:
            raise UsageError(f"--leads names {len(lead_names)} lead(s) but the model takes {count}")
    if classes is None:
        shown = f"has {inferred.outputs} outputs" if inferred.outputs else "does not show its output count"
        raise UsageError(f"the model {shown}; name them in order with --classes (e.g. --classes NORM,MI,STTC,CD,HYP)")
    class_names = tuple(name.strip() for name in classes.split(",") if name.strip())
    if inferred.outputs is not None and len(class_names) != inferred.outputs:
        raise UsageError(f"--classes names {len(class_names)} classes but the model has {inferred.outputs} outputs")
    samples = window or inferred.window
    if samples is None:
        raise UsageError("the input's time axis is dynamic; pass --window SAMPLES (the length it was trained on)")
    if inferred.window is not None and window is not None and window != inferred.window:
        raise UsageError(f"--window {window} differs from the input's fixed length {inferred.window}")
    if chosen_layout == "flat" and len(lead_names) != 1:
        raise UsageError("a [batch, samples] input takes one lead; pass a single --leads name")
    return Description(fs=fs, leads=tuple(lead_names), classes=class_names, window=samples, layout=chosen_layout,
                       units=units, output_kind=output_kind or inferred.output_kind,
                       fixed_batch=inferred.fixed_batch)  # fmt: skip


def _constant(name: str, value: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value, name))


def _prologue(description: Description, target: str) -> list[onnx.NodeProto]:
    """``ecg`` [N, L, T] in mV -> the original input (units, then layout)."""
    nodes: list[onnx.NodeProto] = []
    current = INPUT_NAME
    factor = UNITS[description.units]
    if factor != 1.0:
        nodes += [_constant(PREFIX + "unit", np.array(factor, dtype=np.float32)),
                  helper.make_node("Mul", [current, PREFIX + "unit"], [PREFIX + "scaled"])]  # fmt: skip
        current = PREFIX + "scaled"
    leads, samples = len(description.leads), description.window
    if description.layout == "channels-last":
        nodes.append(helper.make_node("Transpose", [current], [target], perm=[0, 2, 1]))
    elif description.layout in ("conv2d", "flat"):
        shape = [-1, leads, 1, samples] if description.layout == "conv2d" else [-1, samples]
        nodes += [_constant(PREFIX + "shape", np.array(shape, dtype=np.int64)),
                  helper.make_node("Reshape", [current, PREFIX + "shape"], [target])]  # fmt: skip
    else:
        nodes.append(helper.make_node("Identity", [current], [target]))
    return nodes


def _epilogue(description: Description, source: str, classes: int) -> list[onnx.NodeProto]:
    """The original output -> ``probabilities`` and ``logits`` [N, classes]."""
    flat = PREFIX + "output"
    nodes = [_constant(PREFIX + "out_shape", np.array([-1, classes], dtype=np.int64)),
             helper.make_node("Reshape", [source, PREFIX + "out_shape"], [flat])]  # fmt: skip
    if description.output_kind == "logits":
        return [*nodes, helper.make_node("Sigmoid", [flat], [PROBABILITIES]),
                helper.make_node("Identity", [flat], [LOGITS])]  # fmt: skip
    nodes += [_constant(PREFIX + "low", np.array(EPSILON, dtype=np.float32)),
              _constant(PREFIX + "high", np.array(1 - EPSILON, dtype=np.float32)),
              helper.make_node("Identity", [flat], [PROBABILITIES]),
              helper.make_node("Clip", [flat, PREFIX + "low", PREFIX + "high"], [PREFIX + "clipped"])]  # fmt: skip
    if description.output_kind == "softmax":  # logits defined up to a constant: log-probabilities
        return [*nodes, helper.make_node("Log", [PREFIX + "clipped"], [LOGITS])]
    return [
        *nodes,
        _constant(PREFIX + "one", np.array(1.0, dtype=np.float32)),
        helper.make_node("Sub", [PREFIX + "one", PREFIX + "clipped"], [PREFIX + "complement"]),
        helper.make_node("Div", [PREFIX + "clipped", PREFIX + "complement"], [PREFIX + "odds"]),
        helper.make_node("Log", [PREFIX + "odds"], [LOGITS]),
    ]


def wrap(model: onnx.ModelProto, inferred: Inferred, description: Description) -> onnx.ModelProto:
    """The original graph between our prologue and epilogue, as a new model (the input is not modified)."""
    wrapped = upgrade_opset(onnx.ModelProto.FromString(model.SerializeToString()), MIN_OPSET)
    graph = wrapped.graph
    inner_input, inner_output = PREFIX + "model_input", PREFIX + "model_output"
    for node in graph.node:
        renamed = {inferred.input_name: inner_input, inferred.output_name: inner_output}
        node.input[:] = [renamed.get(name, name) for name in node.input]
        node.output[:] = [inner_output if name == inferred.output_name else name for name in node.output]
    batch: str | int = 1 if description.fixed_batch else "batch"
    body = list(graph.node)
    del graph.node[:]
    graph.node.extend(_prologue(description, inner_input) + body + _epilogue(description, inner_output,
                                                                               len(description.classes)))  # fmt: skip
    initializers = {t.name for t in graph.initializer}
    kept_inputs = [value for value in graph.input if value.name in initializers]
    del graph.input[:]
    graph.input.extend([helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT,
                                                      [batch, len(description.leads), description.window]),
                        *kept_inputs])  # fmt: skip
    del graph.output[:]
    graph.output.extend([helper.make_tensor_value_info(name, TensorProto.FLOAT, [batch, len(description.classes)])
                         for name in (PROBABILITIES, LOGITS)])  # fmt: skip
    wrapped = clean_for_runtimes(wrapped)
    try:
        onnx.checker.check_model(wrapped, full_check=True)
    except Exception as exc:
        raise ModelError(f"the wrapped graph does not check ({' '.join(str(exc).split())[:160]}); "
                         "pass --no-wrap if the file already takes 'ecg' [batch, leads, samples]") from None  # fmt: skip
    return wrapped


def describe_model(source: Path, output: Path, description_options: dict[str, Any], wrap_graph: bool = True
                   ) -> tuple[ModelCard, Description]:  # fmt: skip
    """Write ``output``: ``source`` with a card (and our contract unless ``wrap_graph`` is False)."""
    model = load_model(source)
    if has_card(model):
        raise UsageError(f"{source} already has a model card; nothing to describe (see 'compress inspect')")
    inferred = infer(model)
    description = complete(inferred, **description_options)
    result = wrap(model, inferred, description) if wrap_graph else model
    if not wrap_graph and (inferred.input_name != INPUT_NAME or description.layout != "channels-first"):
        raise UsageError(f"without wrapping the input must be '{INPUT_NAME}' [batch, leads, samples]; it is "
                         f"{inferred.input_name!r} ({description.layout}): drop --no-wrap")  # fmt: skip
    card = ModelCard(
        classes=list(description.classes), fs=int(description.fs), leads=list(description.leads), window=description.window,
        thresholds=[0.5] * len(description.classes),
        architecture={"name": FOREIGN_ARCHITECTURE, "parameters": parameter_count(model), "source_file": source.name,
                      "wrapped": wrap_graph, **{k: v for k, v in asdict(description).items()
                                                if k in ("layout", "units", "output_kind", "fixed_batch")}},
        lineage=lineage_step(source, "describe", {**asdict(description), "wrapped": wrap_graph}, None),
    )  # fmt: skip
    save_model(write_card(result, card), output)
    return card, description
