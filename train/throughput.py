"""``train throughput``: training speed of every architecture here, and torch eager vs onnxruntime.

For each registered architecture: training records/s (forward + backward + AdamW step on
batches of 64 random ECG-shaped inputs, after warm-up), the implied seconds per epoch on the
default synthetic training split, and batch-1 single-thread inference latency in torch eager
and onnxruntime measured in the same run (their ratio is the figure to compare).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from models import available, build_model, count_parameters
from runtime.progress import log
from runtime.session import make_session
from train.export import to_onnx
from train.loop import Normalized

DEFAULT_TRAIN_RECORDS = 15794  # training split of the default 20,000-record synthetic dataset


def _median_seconds(fn: Any, seconds: float, minimum: int = 3) -> float:
    times: list[float] = []
    deadline = time.perf_counter() + seconds
    while len(times) < minimum or time.perf_counter() < deadline:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def measure(arch: str, width: float = 1.0, batch: int = 64, seconds: float = 3.0, threads: int = 2) -> dict[str, Any]:
    """One architecture's training throughput and eager-vs-onnxruntime latency."""
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Normalized(build_model(arch, width=width), np.zeros(12), np.ones(12))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(batch, 12, 1000)
    y = (torch.rand(batch, 5) > 0.5).float()

    def step() -> None:
        optimizer.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        optimizer.step()

    model.train()
    step()
    step_seconds = _median_seconds(step, seconds)
    model.eval()
    one = torch.randn(1, 12, 1000)
    torch.set_num_threads(1)
    with torch.no_grad():
        eager = _median_seconds(lambda: model(one), seconds / 2, minimum=10)
    session = make_session(to_onnx(model, 1000, dynamic_time=False).SerializeToString(), threads=1)
    feed = {"ecg": one.numpy()}
    session.run(None, feed)
    onnx_seconds = _median_seconds(lambda: session.run(None, feed), seconds / 2, minimum=10)
    records_per_s = batch / step_seconds
    return {
        "arch": arch, "width": width, "parameters": count_parameters(model.net),
        "train_records_per_s": round(records_per_s, 1),
        "epoch_seconds_default": round(DEFAULT_TRAIN_RECORDS / records_per_s, 1),
        "torch_eager_ms": round(eager * 1000, 3), "onnxruntime_ms": round(onnx_seconds * 1000, 3),
        "onnxruntime_vs_eager": round(onnx_seconds / eager, 3), "train_threads": threads,
    }  # fmt: skip


def measure_all(seconds: float = 3.0, threads: int = 2) -> list[dict[str, Any]]:
    rows = []
    for arch in available():
        log(f"measuring {arch}")
        rows.append(measure(arch, seconds=seconds, threads=threads))
    return rows
