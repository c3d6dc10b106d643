"""``compress quantize``: static int8 (QDQ) quantization with onnxruntime, verified on validation data.

Torch-free: runs on a Raspberry Pi.  Steps: onnxruntime pre-processing (shape inference,
BatchNorm folding) -> ``quantize_static`` calibrated on training-split ECGs only (a seeded
sample, never validation or test) -> clean-up for other runtimes -> fp32 vs int8
evaluation (validation and test AUC, bytes, Q/DQ counts) -> card with config, lineage
and the measured deltas.  ``--max-auc-drop`` keeps the most sensitive nodes in float
until the validation drop is within bounds.
"""

from __future__ import annotations

import contextlib
import copy
import io
import math
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from compress.lineage import lineage_step
from compress.quant_config import QuantizationConfig, preset
from runtime.card import ModelCard, has_card, read_card, write_card
from runtime.dataset.cache import PreparedDataset
from runtime.errors import ModelError, UsageError
from runtime.evaluate import check_compatible, evaluate_splits, resolve_dataset, split_inputs, split_scores
from runtime.graph_stats import graph_summary
from runtime.metrics import best_f1_thresholds
from runtime.onnx_io import (
    clean_for_runtimes,
    load_model,
    save_model,
    tensor_consumers,
    tensor_producers,
    upgrade_opset,
)
from runtime.progress import Progress, log
from runtime.session import fixed_batch, input_name, make_session

QUANTIZABLE = ("Conv", "Gemm", "MatMul")
# Quantized too where their input is: with asymmetric activations onnxruntime folds a ReLU into the
# range of the QuantizeLinear before it and runs MaxPool on int8, so a plain Conv-ReLU-MaxPool block
# becomes QLinearConv + int8 MaxPool (strided-cnn: 38 -> 29-32 us per call; docs/latency.md).
FOLLOWERS = ("Relu", "MaxPool")
QDQ_MIN_OPSET = 13  # per-channel DequantizeLinear (axis) and int32 bias need opset 13
QUANTIZED_MARKERS = (
    "QuantizeLinear",
    "DequantizeLinear",
    "QLinearConv",
    "ConvInteger",
    "MatMulInteger",
    "QLinearMatMul",
)


class NothingToQuantize(ModelError):
    """The graph has no Conv/Gemm/MatMul: there is nothing for int8 to do (not an error)."""


def default_output(model_path: Path) -> Path:
    """``<stem>.int8.onnx`` beside the input."""
    return model_path.with_name(f"{model_path.stem}.int8.onnx")


def even_batch(count: int, batch: int) -> int:
    """The largest batch size <= ``batch`` that divides ``count``: onnxruntime's histogram
    calibrators (percentile, entropy) fail on a last batch shorter than the others."""
    return max(size for size in range(1, max(1, min(batch, count)) + 1) if count % size == 0)


class CalibrationReader:
    """onnxruntime ``CalibrationDataReader`` over ``count`` inputs that ``load(slice)`` returns.

    Every batch has the same size (``even_batch``): a fixed-batch model gets its own batch size.
    """

    def __init__(self, load: Callable[[slice], np.ndarray], count: int, name: str, batch: int = 32) -> None:
        self.load, self.count, self.name, self.position = load, count, name, 0
        self.batch = batch if batch == 1 else even_batch(count, batch)
        self.progress = Progress(count, "calibrating")

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.position >= self.count:
            self.progress.close()
            return None
        x = np.ascontiguousarray(self.load(slice(self.position, self.position + self.batch)), dtype=np.float32)
        self.position += self.batch
        self.progress.update(len(x))
        return {self.name: x}

    def rewind(self) -> None:
        self.position = 0


def training_split_reader(
    dataset: PreparedDataset, leads: list[str], samples: int, seed: int, name: str, batch: int = 32
) -> CalibrationReader:
    """A reader over a seeded sample of the training split (never validation or test)."""
    indices, load = split_inputs(dataset, "train", leads, limit=samples, seed=seed)
    return CalibrationReader(load, len(indices), name, batch)


def ort_quantization() -> Any:
    """Import onnxruntime's quantization tools without letting them change ``sys.path``.

    Importing them appends ``onnxruntime/transformers`` to ``sys.path``, whose ``benchmark.py``
    would then shadow this project's ``benchmark`` package in the same process.
    """
    import importlib
    import sys

    before = list(sys.path)
    try:
        module = importlib.import_module("onnxruntime.quantization")
        importlib.import_module("onnxruntime.quantization.shape_inference")
    finally:
        sys.path[:] = before
    return module


def _quant_type(name: str) -> Any:
    QuantType = ort_quantization().QuantType

    return QuantType.QInt8 if name == "int8" else QuantType.QUInt8


def _method(name: str) -> Any:
    CalibrationMethod = ort_quantization().CalibrationMethod

    return {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
            "percentile": CalibrationMethod.Percentile}[name]  # fmt: skip


def preprocess(model: onnx.ModelProto, folder: Path) -> Path:
    """onnxruntime's pre-processing: graph optimization (BatchNorm folded into Conv) and shape inference."""
    quant_pre_process = ort_quantization().shape_inference.quant_pre_process

    source = folder / "float.onnx"
    target = folder / "preprocessed.onnx"
    stripped = upgrade_opset(copy.deepcopy(model), QDQ_MIN_OPSET)
    del stripped.metadata_props[:]
    onnx.save(stripped, source)
    import os

    # onnxruntime's pre-processing writes temporary files into the working directory
    # and prints its own tracebacks on stderr: the user sees our one line instead
    previous = os.getcwd()
    os.chdir(folder)
    chatter = io.StringIO()
    try:
        with contextlib.redirect_stderr(chatter), contextlib.redirect_stdout(chatter):
            with contextlib.suppress(Exception):
                quant_pre_process(str(source), str(target), skip_symbolic_shape=False)
                return target
            try:
                quant_pre_process(str(source), str(target), skip_symbolic_shape=True)
            except Exception as exc:
                raise ModelError(f"onnxruntime's quantization pre-processing failed ({' '.join(str(exc).split())[:160]}); "
                                 "check that the declared input shape matches the graph") from None  # fmt: skip
    finally:
        os.chdir(previous)
    return target


def compact_names(model: onnx.ModelProto) -> onnx.ModelProto:
    """Give every internal tensor and node a short name (graph inputs and outputs keep theirs).

    The quantizer derives names like ``/model/net/features.6/pointwise.0/Conv_output_0_QuantizeLinear``;
    on a small network those strings are a fifth of the file.  The graph is unchanged.
    """
    keep = {v.name for v in model.graph.input} | {v.name for v in model.graph.output}
    mapping: dict[str, str] = {}

    def short(name: str) -> str:
        if not name or name in keep:
            return name
        if name not in mapping:
            mapping[name] = f"t{len(mapping)}"
        return mapping[name]

    for tensor in model.graph.initializer:
        tensor.name = short(tensor.name)
    for index, node in enumerate(model.graph.node):
        node.name = f"{node.op_type}_{index}"
        node.input[:] = [short(name) for name in node.input]
        node.output[:] = [short(name) for name in node.output]
    return model


def depthwise_convolutions(model: onnx.ModelProto) -> list[str]:
    """Names of the grouped (depthwise) Conv nodes: onnxruntime's CPU kernels do not fuse their QDQ
    form, so in int8 they add Q/DQ/Transpose nodes and time (docs/latency.md)."""
    return [node.name for node in model.graph.node if node.op_type == "Conv"
            and any(a.name == "group" and a.i > 1 for a in node.attribute)]  # fmt: skip


def float_followers(model: onnx.ModelProto, excluded: list[str]) -> list[str]:
    """``FOLLOWERS`` nodes to keep in float: those not between two quantized nodes (after a float Add or
    a depthwise conv kept in float, or before one). Quantizing them only adds Q/DQ pairs around float
    work (measured: sepresnet, whose ReLUs follow residual Adds and feed float depthwise convs,
    0.19 -> 0.21 ms when every ReLU was quantized)."""
    skipped = set(excluded)
    nodes = list(model.graph.node)  # stored in topological order
    producer, consumers = tensor_producers(nodes), tensor_consumers(nodes)
    graph_outputs = {output.name for output in model.graph.output}

    def is_quantized_core(node: onnx.NodeProto) -> bool:
        return node.op_type in QUANTIZABLE and node.name not in skipped

    after_quantized: set[str] = set()  # followers whose input is quantized
    for node in nodes:
        source = producer.get(node.input[0]) if node.op_type in FOLLOWERS and node.input else None
        if source is not None and (is_quantized_core(source) or source.name in after_quantized):
            after_quantized.add(node.name)
    kept: set[str] = set()  # ... and whose every consumer is quantized too
    for node in reversed(nodes):
        if (
            node.name in after_quantized
            and node.output[0] not in graph_outputs
            and all(is_quantized_core(user) or user.name in kept for user in consumers.get(node.output[0], []))
        ):
            kept.add(node.name)
    return [node.name for node in nodes if node.op_type in FOLLOWERS and node.name not in kept]


def quantize_graph(preprocessed: Path, reader: Any, config: QuantizationConfig, folder: Path) -> onnx.ModelProto:
    """Run ``quantize_static`` (QDQ) calibrated on ``reader`` and return the cleaned int8 graph."""
    quantization = ort_quantization()
    QuantFormat, quantize_static = quantization.QuantFormat, quantization.quantize_static

    target = folder / f"int8-{len(config.nodes_to_exclude)}.onnx"
    excluded = list(config.nodes_to_exclude)
    graph = onnx.load(preprocessed)
    if config.depthwise == "float":
        excluded += [name for name in depthwise_convolutions(graph) if name not in excluded]
    excluded += [name for name in float_followers(graph, excluded) if name not in excluded]
    with contextlib.redirect_stdout(io.StringIO()):  # the histogram calibrators print progress on stdout
        quantize_static(
            str(preprocessed), str(target), reader, quant_format=QuantFormat.QDQ, per_channel=config.per_channel,
            reduce_range=config.reduce_range, activation_type=_quant_type(config.activations),
            weight_type=_quant_type(config.weights), nodes_to_exclude=excluded or None,
            calibrate_method=_method(config.calibrate_method),
            op_types_to_quantize=[*QUANTIZABLE, *FOLLOWERS],
            extra_options={"ActivationSymmetric": config.symmetric_activations, "WeightSymmetric": True},
        )  # fmt: skip
    return clean_for_runtimes(onnx.load(target))


def sensitivity(
    fp32: onnx.ModelProto, int8: onnx.ModelProto, dataset: PreparedDataset, leads: list[str], samples: int = 64
) -> list[dict[str, Any]]:
    """Per-node SQNR (dB) between fp32 and int8 outputs of each quantized op, lowest first."""
    int8_outputs = {o for n in int8.graph.node for o in n.output}
    users = tensor_consumers(list(fp32.graph.node))

    def observed(node: onnx.NodeProto) -> str:
        """The node's output as the int8 graph still has it: a ReLU folded into the quantization leaves
        the convolution's result under the ReLU's output name."""
        name = node.output[0]
        after = users.get(name, [])
        if name not in int8_outputs and len(after) == 1 and after[0].op_type == "Relu":
            return after[0].output[0]
        return name

    by_output = {observed(n): n for n in fp32.graph.node if n.op_type in QUANTIZABLE}
    outputs = [name for name in by_output if name in int8_outputs]

    def expose(model: onnx.ModelProto) -> bytes:
        exposed = copy.deepcopy(model)
        existing = {o.name for o in exposed.graph.output}
        for name in outputs:
            if name not in existing:
                exposed.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
        return exposed.SerializeToString()

    indices, load = split_inputs(dataset, "val", leads, limit=samples)
    x = np.ascontiguousarray(load(slice(0, len(indices))), dtype=np.float32)
    a_session, b_session = make_session(expose(fp32)), make_session(expose(int8))
    a = a_session.run(outputs, {input_name(a_session): x})
    b = b_session.run(outputs, {input_name(b_session): x})
    report = []
    for name, reference, quantized in zip(outputs, a, b, strict=True):
        noise = float(np.sum((reference - quantized) ** 2))
        signal = float(np.sum(reference**2))
        sqnr = math.inf if noise == 0 else 10 * math.log10(max(signal, 1e-30) / noise)
        node = by_output[name]
        report.append({"node": node.name, "op": node.op_type, "output": name, "sqnr_db": round(sqnr, 2)})
    return sorted(report, key=lambda r: r["sqnr_db"])


@dataclass
class QuantizeResult:
    output: Path | None
    card: ModelCard | None
    measured: dict[str, Any]
    sensitivity: list[dict[str, Any]]


def _measure(
    fp32_bytes: bytes,
    int8: onnx.ModelProto,
    dataset: PreparedDataset,
    card: ModelCard,
    fp32_metrics: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    int8_session = make_session(int8.SerializeToString())
    int8_metrics = evaluate_splits(int8_session, dataset, card)
    if fp32_metrics is None:
        fp32_metrics = evaluate_splits(make_session(fp32_bytes), dataset, card)
    measured: dict[str, Any] = {}
    for split in ("val", "test"):
        measured[split] = {
            "fp32_macro_auc": fp32_metrics[split]["macro_auc"],
            "int8_macro_auc": int8_metrics[split]["macro_auc"],
            "delta_macro_auc": int8_metrics[split]["macro_auc"] - fp32_metrics[split]["macro_auc"],
            "fp32_auc": fp32_metrics[split]["auc"],
            "int8_auc": int8_metrics[split]["auc"],
        }
    return measured, {"fp32": fp32_metrics, "int8": int8_metrics}


def load_quantizable(source: Path, target: Path) -> onnx.ModelProto:
    """Load ``source`` for quantization: refuses writing over it, an int8 file, a graph with nothing to quantize."""
    if target.resolve() == source.resolve():
        raise UsageError(f"-o {target} is the input file; quantize never overwrites its input")
    model = load_model(source)
    if any(node.op_type in QUANTIZED_MARKERS for node in model.graph.node):
        raise ModelError(f"{source} is already quantized (it has Q/DQ or integer ops); quantize its float parent")
    if not any(node.op_type in QUANTIZABLE for node in model.graph.node):
        raise NothingToQuantize(f"{source} has no Conv, Gemm or MatMul to quantize; nothing written")
    return model


def quantize_model(
    model_path: str | Path,
    output: str | Path | None = None,
    data: str | Path | None = None,
    config: QuantizationConfig | None = None,
    max_auc_drop: float | None = None,
    report: bool = False,
) -> QuantizeResult:
    """Quantize ``model_path`` to int8 and verify it; see the module docstring."""
    source = Path(model_path)
    config = config or preset("auto")
    target = Path(output) if output is not None else default_output(source)
    model = load_quantizable(source, target)
    card = read_card(model, str(source)) if has_card(model) else None
    dataset = resolve_dataset(card, data, str(source))
    if card is None:
        card = _card_from_data(model, dataset, source)
    check_compatible(card, dataset, str(source))
    fp32_bytes = source.read_bytes()
    with tempfile.TemporaryDirectory(prefix="ecgshrink-quant-") as tmp:
        folder = Path(tmp)
        preprocessed = preprocess(model, folder)
        fp32_session = make_session(fp32_bytes)
        name, batch = input_name(fp32_session), fixed_batch(fp32_session) or 32
        log(f"quantizing {source.name} ({config.calibrate_method}, {config.calib_samples} training records)")

        def reader_for(chosen: QuantizationConfig) -> CalibrationReader:
            return training_split_reader(dataset, card.leads, chosen.calib_samples, chosen.seed, name, batch)

        int8 = quantize_graph(preprocessed, reader_for(config), config, folder)
        measured, metrics = _measure(fp32_bytes, int8, dataset, card)
        fp32_pre = onnx.load(preprocessed)
        sens = sensitivity(fp32_pre, int8, dataset, card.leads) if report or max_auc_drop is not None else []
        if max_auc_drop is not None:
            int8, config, measured, metrics = _search_exclusions(
                int8, preprocessed, dataset, card, config, folder, reader_for, sens, measured, metrics, max_auc_drop
            )
    return _finish(source, target, model, int8, card, dataset, config, measured, metrics, sens, max_auc_drop)


def _search_exclusions(
    int8: onnx.ModelProto,
    preprocessed: Path,
    dataset: PreparedDataset,
    card: ModelCard,
    config: QuantizationConfig,
    folder: Path,
    reader_for: Callable[[QuantizationConfig], CalibrationReader],
    sens: list[dict[str, Any]],
    measured: dict[str, Any],
    metrics: dict[str, Any],
    max_drop: float,
) -> tuple[Any, ...]:
    """Keep 1, 2, 4, ... of the lowest-SQNR nodes in float until the validation drop <= max_drop."""
    count = 1
    while -measured["val"]["delta_macro_auc"] > max_drop and count <= len(sens):
        excluded = tuple(dict.fromkeys([*config.nodes_to_exclude, *(r["node"] for r in sens[:count])]))
        trial = config.with_changes(nodes_to_exclude=excluded)
        log(
            f"validation AUC drop {-measured['val']['delta_macro_auc']:.4f} > {max_drop}: keeping {len(excluded)} node(s) in float"
        )
        int8 = quantize_graph(preprocessed, reader_for(trial), trial, folder)
        measured, metrics = _measure(b"", int8, dataset, card, metrics["fp32"])
        config = trial
        count = len(sens) + 1 if count == len(sens) else min(count * 2, len(sens))
    if -measured["val"]["delta_macro_auc"] > max_drop:
        raise ModelError(
            f"even with {len(config.nodes_to_exclude)} nodes in float the validation AUC drops "
            f"{-measured['val']['delta_macro_auc']:.4f} > --max-auc-drop {max_drop}; nothing written"
        )
    return int8, config, measured, metrics


def _card_from_data(model: onnx.ModelProto, dataset: PreparedDataset, source: Path) -> ModelCard:
    dims = model.graph.input[0].type.tensor_type.shape.dim
    if len(dims) != 3:
        raise ModelError(f"{source}: input must be [batch, leads, samples] to use ECG data; it has rank {len(dims)}")
    leads = dims[1].dim_value or 12
    if leads != 12:
        raise ModelError(
            f"{source} has no model card and takes {leads} leads; without a card the lead order is unknown"
        )
    return ModelCard(classes=list(dataset.classes), fs=dataset.fs, leads=list(dataset.leads), window=dataset.samples,
                     thresholds=[0.5] * len(dataset.classes), dataset=dataset.identity())  # fmt: skip


def _finish(
    source: Path,
    target: Path,
    fp32: onnx.ModelProto,
    int8: onnx.ModelProto,
    card: ModelCard,
    dataset: PreparedDataset,
    config: QuantizationConfig,
    measured: dict[str, Any],
    metrics: dict[str, Any],
    sens: list[dict[str, Any]],
    max_drop: float | None,
) -> QuantizeResult:
    shape = [1, len(card.leads), card.window]
    int8 = compact_names(int8)
    fp32_stats, int8_stats = graph_summary(fp32, shape), graph_summary(int8, shape)
    labels, scores = split_scores(make_session(int8.SerializeToString()), dataset, "val", card.leads)
    new_card = copy.deepcopy(card)
    new_card.thresholds = best_f1_thresholds(labels, scores)
    new_card.metrics = metrics["int8"]
    new_card.dataset = card.dataset or dataset.identity()
    parameters = {**config.to_dict(), "calibration_split": "train", "max_auc_drop": max_drop}
    new_card.lineage = lineage_step(source, "quantize", parameters, card if has_card(fp32) else None)
    fp32_size = source.stat().st_size
    measured.update({
        "bytes_fp32": fp32_size, "quantize_linear": int8_stats["quantize_linear"],
        "dequantize_linear": int8_stats["dequantize_linear"], "parameters": fp32_stats["parameters"],
        "macs": fp32_stats["macs"],
    })  # fmt: skip
    if max_drop is not None:
        measured["max_auc_drop"] = max_drop
        measured["kept_in_float"] = list(config.nodes_to_exclude)
    size = 0
    for _ in range(6):  # the card records the file's own size: iterate to the fixed point
        measured["bytes_int8"] = size
        measured["size_ratio"] = round(fp32_size / size, 3) if size else None
        new_card.compression = {**card.compression, "quantization": {"config": parameters, "measured": measured}}
        write_card(int8, new_card)
        new_size = len(int8.SerializeToString())
        if new_size == size:
            break
        size = new_size
    onnx.checker.check_model(int8)
    written = save_model(int8, target)
    return QuantizeResult(written, new_card, measured, sens)
