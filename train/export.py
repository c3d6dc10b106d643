"""Export a trained network to the ONNX contract, and rebuild the torch module from an ONNX file.

The contract (``shared`` architecture): input ``ecg`` float32 ``[batch, leads, samples]``
in raw millivolts with the training normalization inside the graph; outputs
``probabilities`` and ``logits``; dynamic batch; standard opset (19); one file; no symbolic shapes left in intermediate
``value_info``; ``onnx.checker`` clean; the model card in ``metadata_props``.

The time axis is fixed to the card's window by default: OpenCV's DNN importer (classic
engine) cannot infer shapes through a symbolic time axis, and every consumer of our files
(the runtime, the benchmark) feeds exactly one window per item anyway.  Networks that pool
globally can be exported with ``dynamic_time=True`` for runtimes that want variable length.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

from models import build_model
from models.registry import architecture
from runtime.card import ModelCard, read_card, write_card
from runtime.errors import ModelError
from runtime.onnx_io import clean_for_runtimes, load_model, save_model
from runtime.session import INPUT_NAME, LOGITS, PROBABILITIES
from train.loop import Normalized

OPSET = 19  # >= 17 by contract; 19 so onnx.reference runs QDQ files (its DequantizeLinear starts at 19)


class OnnxHead(nn.Module):
    """Adds the sigmoid output next to the logits for export."""

    def __init__(self, model: Normalized) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.model(x)
        return torch.sigmoid(logits), logits


def to_onnx(model: Normalized, samples: int, dynamic_time: bool) -> onnx.ModelProto:
    """Trace ``model`` to an ONNX graph (weights keep their state-dict names)."""
    head = OnnxHead(model).eval().cpu()
    leads = int(model.normalize_mean.shape[1])
    time_axis = {2: "samples"} if dynamic_time else {}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            head, (torch.zeros(1, leads, samples),), buffer, dynamo=False, opset_version=OPSET,
            input_names=[INPUT_NAME], output_names=[PROBABILITIES, LOGITS],
            dynamic_axes={INPUT_NAME: {0: "batch", **time_axis}, PROBABILITIES: {0: "batch"}, LOGITS: {0: "batch"}},
            training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=True,
        )  # fmt: skip
    graph = clean_for_runtimes(onnx.load_model_from_string(buffer.getvalue()))
    onnx.checker.check_model(graph, full_check=True)
    return graph


def _dynamic_time(card: ModelCard) -> bool:
    wanted = bool(card.architecture.get("dynamic_time", False))
    return wanted and not architecture(card.architecture["name"]).fixed_length


def export(model: Normalized, card: ModelCard, path: str | Path) -> Path:
    """Write the ONNX file with its card, atomically."""
    graph = to_onnx(model, card.window, dynamic_time=_dynamic_time(card))
    write_card(graph, card)
    return save_model(graph, path)


def onnx_bytes(model: Normalized, card: ModelCard) -> bytes:
    """The exported file's bytes without writing it (for evaluating before the final write)."""
    graph = to_onnx(model, card.window, dynamic_time=_dynamic_time(card))
    write_card(graph, card)
    return graph.SerializeToString()


def architecture_entry(model: Normalized, arch: str, width: float, samples: int) -> dict[str, object]:
    """The card's architecture field: enough to rebuild the module from the file's own weights."""
    from models.registry import count_parameters, current_channels

    net = model.net
    return {
        "name": arch,
        "width": width,
        "channels": current_channels(net),
        "in_channels": int(model.normalize_mean.shape[1]),
        "num_classes": int(net.classifier.out_features),
        "samples": samples,
        "dynamic_time": False,
        "parameters": count_parameters(net),
    }


def module_from_onnx(path: str | Path) -> tuple[Normalized, ModelCard]:
    """Rebuild the torch module (normalization included) from an ONNX file's card and weights."""
    graph = load_model(path)
    card = read_card(graph, str(path))
    spec = card.architecture
    if not spec.get("name") or "channels" not in spec:
        raise ModelError(f"{path}: the model card has no architecture to rebuild (ecgshrink.architecture)")
    if any(node.op_type in ("QuantizeLinear", "DequantizeLinear") for node in graph.graph.node):
        raise ModelError(f"{path} is quantized; prune or distill from its float parent instead")
    net = build_model(spec["name"], width=float(spec.get("width", 1.0)), in_channels=int(spec["in_channels"]),
                      num_classes=int(spec["num_classes"]), channels=spec["channels"], samples=int(spec["samples"]))  # fmt: skip
    weights = {t.name: numpy_helper.to_array(t) for t in graph.graph.initializer}
    for node in graph.graph.node:  # the exporter shares identical tensors through Identity nodes
        if node.op_type == "Identity" and node.input[0] in weights:
            weights[node.output[0]] = weights[node.input[0]]
    mean = weights.get("model.normalize_mean")
    std = weights.get("model.normalize_std")
    if mean is None or std is None:
        raise ModelError(f"{path}: normalization constants not found; was it exported by this toolkit?")
    model = Normalized(net, mean.reshape(-1), std.reshape(-1))
    state = model.state_dict()
    missing = []
    for key in state:
        name = f"model.{key}"
        if name in weights:
            state[key] = torch.from_numpy(np.array(weights[name])).reshape(state[key].shape)
        elif not key.endswith("num_batches_tracked"):
            missing.append(key)
    if missing:
        raise ModelError(f"{path}: weights {', '.join(missing[:3])} not found in the file; cannot rebuild")
    model.load_state_dict(state)
    return model.eval(), card
