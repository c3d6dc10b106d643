"""``compress quantize --calibration inputs.npy``: int8 for any model, checked by agreement, not AUC.

For models of any task (beat classifiers at 360 Hz, other rates, no card, no ECG dataset): the
user passes an array of real model inputs.  Calibration uses the first 80% of them (all of them
below 20 inputs); the held-out rest measures how far int8 is from fp32: max and mean |diff|,
SQNR per output, and decision agreement (top-1 for multi-column outputs, the 0.5 threshold for
probabilities, sign for logits).  Torch-free.
"""

from __future__ import annotations

import copy
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx

from compress.lineage import lineage_step
from compress.quant_config import QuantizationConfig
from compress.quantize import (
    CalibrationReader,
    QuantizeResult,
    compact_names,
    load_quantizable,
    preprocess,
    quantize_graph,
)
from runtime.card import has_card, read_card, write_card
from runtime.errors import UsageError
from runtime.onnx_io import save_model
from runtime.progress import log
from runtime.session import fixed_batch, make_session

HOLD_OUT = 0.2
MIN_FOR_HOLD_OUT = 20


def load_inputs(path: Path, session: Any) -> np.ndarray:
    """Read ``path`` (.npy) and check it against the model's input shape; one-line errors."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise UsageError(f"--calibration {path}: not a readable .npy array ({' '.join(str(exc).split())[:100]})"
                         ) from None  # fmt: skip
    declared = session.get_inputs()[0].shape
    if array.ndim != len(declared):
        raise UsageError(f"--calibration {path}: array shape {list(array.shape)} does not match the input "
                         f"{declared} (first axis: one input per row)")  # fmt: skip
    for axis, (have, want) in enumerate(zip(array.shape[1:], declared[1:], strict=True), start=1):
        if isinstance(want, int) and want > 0 and have != want:
            raise UsageError(f"--calibration {path}: axis {axis} has {have}, the model's input {declared} needs {want}")
    if len(array) == 0:
        raise UsageError(f"--calibration {path}: the array is empty")
    if not np.issubdtype(array.dtype, np.number):
        raise UsageError(f"--calibration {path}: {array.dtype} array; pass numbers")
    array = array.astype(np.float32)
    if not np.all(np.isfinite(array)):
        raise UsageError(f"--calibration {path}: the array holds NaN or Inf; clean the inputs first")
    return array


def _run(session: Any, inputs: np.ndarray, batch: int) -> list[np.ndarray]:
    name = session.get_inputs()[0].name
    names = [o.name for o in session.get_outputs()]
    parts = [session.run(names, {name: inputs[i : i + batch]}) for i in range(0, len(inputs), batch)]
    return [np.concatenate([part[k] for part in parts]) for k in range(len(names))]


def _decisions(values: np.ndarray) -> np.ndarray:
    """Top-1 class for several columns; otherwise the 0.5 threshold (probabilities) or sign (logits)."""
    flat = values.reshape(len(values), -1)
    if flat.shape[1] > 1 and np.allclose(flat.sum(axis=1), 1.0, atol=1e-3):
        return flat.argmax(axis=1)
    in_unit = flat.min() >= 0 and flat.max() <= 1
    return flat >= (0.5 if in_unit else 0.0)


def agreement(fp32: list[np.ndarray], int8: list[np.ndarray], names: list[str]) -> dict[str, Any]:
    """Per output: max/mean |diff|, SQNR (dB) and the fraction of identical decisions."""
    result: dict[str, Any] = {}
    for name, reference, quantized in zip(names, fp32, int8, strict=True):
        difference = reference.astype(np.float64) - quantized.astype(np.float64)
        noise, signal = float(np.sum(difference**2)), float(np.sum(reference.astype(np.float64) ** 2))
        same = _decisions(reference) == _decisions(quantized)
        result[name] = {
            "max_abs_diff": float(np.max(np.abs(difference))), "mean_abs_diff": float(np.mean(np.abs(difference))),
            "sqnr_db": math.inf if noise == 0 else round(10 * math.log10(max(signal, 1e-30) / noise), 2),
            "decision_agreement": float(np.mean(same)),
        }  # fmt: skip
    return result


def quantize_with_inputs(source: Path, target: Path, calibration: Path, config: QuantizationConfig) -> QuantizeResult:
    """Quantize ``source`` calibrated on the arrays in ``calibration``; measure fp32-vs-int8 agreement."""
    model = load_quantizable(source, target)
    fp32_bytes = model.SerializeToString()
    fp32_session = make_session(fp32_bytes)
    inputs = load_inputs(calibration, fp32_session)
    batch = fixed_batch(fp32_session) or 32
    held = int(len(inputs) * HOLD_OUT) if len(inputs) >= MIN_FOR_HOLD_OUT else 0
    calibrate, check = (inputs[: len(inputs) - held], inputs[len(inputs) - held :]) if held else (inputs, inputs)
    name = fp32_session.get_inputs()[0].name
    with tempfile.TemporaryDirectory(prefix="ecgshrink-quant-") as tmp:
        folder = Path(tmp)
        log(f"quantizing {source.name} ({config.calibrate_method}, {len(calibrate)} calibration inputs)")
        int8 = compact_names(quantize_graph(preprocess(model, folder), CalibrationReader(lambda rows: calibrate[rows], len(calibrate), name, batch), config,
                                            folder))  # fmt: skip
    int8_session = make_session(int8.SerializeToString())
    names = [o.name for o in fp32_session.get_outputs()]
    measured: dict[str, Any] = {
        "agreement": agreement(_run(fp32_session, check, batch), _run(int8_session, check, batch), names),
        "calibration_inputs": len(calibrate), "checked_inputs": len(check),
        "checked_on": "held-out inputs" if held else "the calibration inputs (fewer than 20 given)",
        "bytes_fp32": source.stat().st_size,
        "quantize_linear": sum(n.op_type == "QuantizeLinear" for n in int8.graph.node),
        "dequantize_linear": sum(n.op_type == "DequantizeLinear" for n in int8.graph.node),
    }  # fmt: skip
    card = read_card(model, str(source)) if has_card(model) else None
    if card is not None:
        new_card = copy.deepcopy(card)
        parameters = {**config.to_dict(), "calibration": calibration.name, "calibration_inputs": len(calibrate)}
        new_card.lineage = lineage_step(source, "quantize", parameters, card)
        new_card.compression = {**card.compression, "quantization": {"config": parameters, "measured": measured}}
        write_card(int8, new_card)
    else:
        kept = [(p.key, p.value) for p in model.metadata_props]
        for key, value in kept:
            int8.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(int8)
    written = save_model(int8, target)
    measured["bytes_int8"] = written.stat().st_size
    measured["size_ratio"] = round(measured["bytes_fp32"] / measured["bytes_int8"], 3)
    return QuantizeResult(written, card, measured, [])
