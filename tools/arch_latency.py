"""Batch-1 latency of untrained architectures as multiples of their compute floor (fp32 and int8).

Which student architecture suits batch-1 inference on this CPU? Builds each (architecture, width)
with random weights (latency does not depend on training), exports it like ``train fit`` does,
quantizes it with ``compress quantize --calibration`` (seeded noise inputs), and times both files
single-threaded next to the CPU's probed fp32/int8 peaks. Usage:

    .venv/bin/python tools/arch_latency.py [--time-s 1.5] [ARCH:WIDTH ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT = [
    "sepresnet:0.5",
    "sepresnet:1.0",
    "plain-cnn:0.25",
    "plain-cnn:0.5",
    "strided-cnn:0.5",
    "strided-cnn:1.0",
    "strided-cnn:1.5",
]


def p50_ms(path: Path, x: np.ndarray, seconds: float) -> float:
    from benchmark.latency import measure_latency
    from runtime.session import make_session

    return measure_latency(make_session(path, threads=1), [x], 0.2, seconds, label=path.name).p50_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=DEFAULT, help="ARCH:WIDTH pairs")
    parser.add_argument("--time-s", type=float, default=1.5)
    args = parser.parse_args()
    from benchmark.compute_floor import call_overhead_ms, peak_macs_per_s
    from models import build_model, count_parameters
    from runtime.graph_stats import graph_summary
    from train.export import to_onnx
    from train.loop import Normalized

    peaks = {"fp32": peak_macs_per_s(False), "int8": peak_macs_per_s(True)}
    print(f"peak fp32 {peaks['fp32'] / 1e9:.0f} GMAC/s, int8 {peaks['int8'] / 1e9:.0f} GMAC/s; "
          f"one call's fixed cost {call_overhead_ms() * 1000:.0f} us")  # fmt: skip
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 12, 1000)).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        np.save(Path(folder) / "calibration.npy", x)
        print(f"{'model':<18} {'params':>8} {'MACs':>11} {'nodes':>6} {'fp32 ms':>8} {'x floor':>7} "
              f"{'int8 ms':>8} {'x floor':>7} {'int8 nodes':>10}")  # fmt: skip
        for item in args.models:
            arch, width = item.split(":")
            net = build_model(arch, width=float(width))
            graph = to_onnx(Normalized(net, np.zeros(12), np.ones(12)).eval(), 1000, dynamic_time=False)
            fp32 = Path(folder) / f"{arch}-{width}.onnx"
            onnx.save(graph, fp32)
            int8 = fp32.with_suffix(".int8.onnx")
            subprocess.run([sys.executable, "-m", "compress.cli", "quantize", str(fp32), "--calibration",
                            str(Path(folder) / "calibration.npy"), "-o", str(int8)], check=True, cwd=ROOT,
                           capture_output=True)  # fmt: skip
            macs = graph_summary(graph, [1, 12, 1000])["macs"]
            times = {name: p50_ms(path, x[:1], args.time_s) for name, path in (("fp32", fp32), ("int8", int8))}
            floors = {name: macs / peaks[name] * 1000 for name in times}
            print(f"{item:<18} {count_parameters(net):>8,} {macs:>11,} {len(graph.graph.node):>6} "
                  f"{times['fp32']:>8.3f} {times['fp32'] / floors['fp32']:>7.1f} {times['int8']:>8.3f} "
                  f"{times['int8'] / floors['int8']:>7.1f} {len(onnx.load(int8).graph.node):>10}")  # fmt: skip


if __name__ == "__main__":
    main()
