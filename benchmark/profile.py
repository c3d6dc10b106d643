"""Where a model's time goes: onnxruntime's per-node profile, separated from per-call overhead.

For small models the arithmetic (the MACs at the CPU's peak) is a sliver of a call: the rest is
kernel launch cost per node, the framework's work per run, and Python's ``session.run`` call.
``profile_model`` times the same batch-1 input three ways:

* ``call_ms``: wall time of ``session.run`` from Python (what a user sees), without profiling;
* ``run_ms``: onnxruntime's own ``model_run`` span in a profiling session (the graph executed);
* ``kernels_ms``: the sum of the node kernels' time there (the work itself, by op type).

The profiler adds its own cost per node, so ``run_ms`` can exceed ``call_ms``; the shares
(kernels vs executor) are what to read, with ``call_ms`` as the real figure.
"""

from __future__ import annotations

import json
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.latency import measure_latency
from runtime.session import input_name, make_session


def profile_model(path: Path, x: np.ndarray, calls: int = 200, threads: int = 1) -> dict[str, Any]:
    """Per-op-type kernel time and the overheads of one batch-1 call (medians over ``calls``)."""
    plain = make_session(path, threads=threads)  # timed without the profiler's own cost
    call_ms = measure_latency(plain, [x], 0.05, 3600.0, max_calls=calls, label=f"{path.name} calls").p50_ms
    feed = {input_name(plain): np.ascontiguousarray(x, dtype=np.float32)}
    with tempfile.TemporaryDirectory() as folder:
        session = make_session(path, threads=threads, profile_prefix=str(Path(folder) / "trace"))
        for _ in range(20 + calls):
            session.run(None, feed)
        trace = json.loads(Path(session.end_profiling()).read_text())
    runs = [event for event in trace if event.get("name") == "model_run"]
    kernels = [
        event for event in trace if event.get("cat") == "Node" and event.get("name", "").endswith("_kernel_time")
    ]
    measured_runs = runs[-calls:]
    first = measured_runs[0]["ts"] if measured_runs else 0
    kernels = [event for event in kernels if event["ts"] >= first]
    by_op: dict[str, list[float]] = defaultdict(list)
    nodes_per_run = len(kernels) / max(1, len(measured_runs))
    for event in kernels:
        by_op[event.get("args", {}).get("op_name", "?")].append(event["dur"])
    runs_count = max(1, len(measured_runs))
    ops: list[dict[str, Any]] = sorted(({"op": op, "nodes": round(len(durs) / runs_count),
                                         "ms_per_call": sum(durs) / runs_count / 1000.0}
                  for op, durs in by_op.items()), key=lambda row: -row["ms_per_call"])  # fmt: skip
    kernels_ms = sum(row["ms_per_call"] for row in ops)
    run_ms = float(np.median([event["dur"] for event in measured_runs])) / 1000.0 if measured_runs else float("nan")
    return {"model": str(path), "threads": threads, "calls": calls, "nodes_per_call": round(nodes_per_run),
            "call_ms": call_ms, "run_ms": run_ms, "kernels_ms": kernels_ms,
            "executor_overhead_ms": run_ms - kernels_ms, "ops": ops}  # fmt: skip
