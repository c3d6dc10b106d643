"""onnxruntime sessions and batched prediction (the one inference path everything shares)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnxruntime as ort

from runtime.errors import ModelError, UsageError

INPUT_NAME = "ecg"
PROBABILITIES = "probabilities"
LOGITS = "logits"


def make_session(
    model: str | Path | bytes,
    threads: int = 0,
    providers: list[str] | None = None,
    optimization: str = "all",
    profile_prefix: str | None = None,
) -> ort.InferenceSession:
    """A session with fixed options: ``threads`` intra-op threads (0 = onnxruntime's default);
    ``profile_prefix``: write onnxruntime's per-node trace there (``benchmark profile``)."""
    options = ort.SessionOptions()
    if profile_prefix is not None:
        options.enable_profiling = True
        options.profile_file_prefix = profile_prefix
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    levels = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "none": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    }
    options.graph_optimization_level = levels[optimization]
    available = ort.get_available_providers()
    chosen = providers or ["CPUExecutionProvider"]
    unknown = [p for p in chosen if p not in available]
    if unknown:
        raise UsageError(
            f"execution provider(s) {', '.join(unknown)} not available here; available: {', '.join(available)}"
        )
    source = model if isinstance(model, bytes) else str(model)
    try:
        return ort.InferenceSession(source, options, providers=chosen)
    except Exception as exc:
        name = "model" if isinstance(model, bytes) else str(model)
        raise ModelError(f"{name}: onnxruntime cannot load it ({' '.join(str(exc).split())[:200]})") from None


def input_name(session: ort.InferenceSession) -> str:
    """The model's ECG input name (``ecg`` for our files; the first input otherwise)."""
    names = [i.name for i in session.get_inputs()]
    return INPUT_NAME if INPUT_NAME in names else names[0]


def fixed_batch(session: ort.InferenceSession) -> int | None:
    """The input's batch size when the graph fixes it (files exported with batch 1), else ``None``."""
    first = session.get_inputs()[0].shape[0] if session.get_inputs()[0].shape else None
    return first if isinstance(first, int) and first > 0 else None


def predict(
    session: ort.InferenceSession,
    batches: Callable[[slice], np.ndarray],
    count: int,
    batch_size: int = 256,
    output: str = PROBABILITIES,
) -> np.ndarray:
    """Run ``batches(slice)`` through the session in chunks and stack one output."""
    name = input_name(session)
    batch_size = fixed_batch(session) or batch_size
    outputs = [o.name for o in session.get_outputs()]
    wanted = output if output in outputs else outputs[0]
    parts = []
    for start in range(0, count, batch_size):
        x = np.ascontiguousarray(batches(slice(start, min(count, start + batch_size))), dtype=np.float32)
        parts.append(session.run([wanted], {name: x})[0])
    return np.concatenate(parts) if parts else np.zeros((0, 0), dtype=np.float32)
