"""Latency measurement the way trusted benchmarks do it.

Warm up by time (not by count), time every call with ``perf_counter``, rotate inputs over
real records, fixed session options and thread count, report mean / percentiles /
throughput.  Machines are noisy: compare models as ratios measured in the same run.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import onnxruntime as ort

from runtime.errors import UsageError
from runtime.progress import Progress
from runtime.session import input_name


@dataclass(frozen=True)
class LatencyStats:
    """Per-call latency in milliseconds and throughput in records per second."""

    calls: int
    batch: int
    mean_ms: float
    std_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    throughput: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def measure_latency(
    session: ort.InferenceSession,
    inputs: list[np.ndarray],
    warmup_s: float = 2.0,
    time_s: float = 10.0,
    max_calls: int = 1_000_000,
    label: str = "timing",
) -> LatencyStats:
    """Call ``session`` on the rotating ``inputs`` for ``time_s`` seconds after ``warmup_s`` of warm-up."""
    if time_s <= 0:
        raise UsageError(f"--time-s must be positive, got {time_s}")
    if not inputs:
        raise UsageError("no inputs to time")
    name = input_name(session)
    feeds = [{name: np.ascontiguousarray(x, dtype=np.float32)} for x in inputs]
    run = session.run
    deadline = time.perf_counter() + warmup_s
    i = 0
    while time.perf_counter() < deadline:
        run(None, feeds[i % len(feeds)])
        i += 1
    times: list[float] = []
    bar = Progress(int(time_s), f"{label} ({time_s:g}s)")
    start = time.perf_counter()
    last_report = start
    while len(times) < max_calls:
        feed = feeds[len(times) % len(feeds)]
        t0 = time.perf_counter()
        run(None, feed)
        t1 = time.perf_counter()
        times.append(t1 - t0)
        if t1 - last_report >= 1.0:
            bar.update(int(t1 - last_report))
            last_report = t1
        if t1 - start >= time_s:
            break
    bar.close()
    ms = np.array(times) * 1000.0
    batch = int(inputs[0].shape[0])
    return LatencyStats(
        calls=len(ms), batch=batch, mean_ms=float(ms.mean()), std_ms=float(ms.std()),
        p50_ms=float(np.percentile(ms, 50)), p90_ms=float(np.percentile(ms, 90)), p99_ms=float(np.percentile(ms, 99)),
        throughput=float(batch * 1000.0 / ms.mean()),
    )  # fmt: skip


def bare_loop_ms(session: ort.InferenceSession, inputs: list[np.ndarray], calls: int) -> float:
    """Mean ms per call of a plain ``session.run`` loop (no timing per call): the harness's reference."""
    name = input_name(session)
    feeds = [{name: np.ascontiguousarray(x, dtype=np.float32)} for x in inputs]
    run = session.run
    start = time.perf_counter()
    for i in range(calls):
        run(None, feeds[i % len(feeds)])
    return (time.perf_counter() - start) * 1000.0 / calls


def self_check(session: ort.InferenceSession, inputs: list[np.ndarray], time_s: float = 5.0) -> dict[str, float]:
    """Run-to-run spread of p50 (two consecutive runs) and harness overhead vs a bare loop."""
    first = measure_latency(session, inputs, warmup_s=1.0, time_s=time_s, label="run 1")
    second = measure_latency(session, inputs, warmup_s=0.0, time_s=time_s, label="run 2")
    bare = bare_loop_ms(session, inputs, first.calls)
    harness = measure_latency(session, inputs, warmup_s=0.0, time_s=time_s, max_calls=first.calls, label="run 3")
    return {
        "p50_run1_ms": first.p50_ms, "p50_run2_ms": second.p50_ms,
        "p50_spread": abs(first.p50_ms - second.p50_ms) / min(first.p50_ms, second.p50_ms),
        "bare_loop_mean_ms": bare, "harness_mean_ms": harness.mean_ms,
        "harness_overhead": harness.mean_ms / bare - 1.0,
    }  # fmt: skip
