"""Bring-your-own-model check on real data: a PTB-XL model exported the way a Keras user would.

Takes one of our trained models, re-exports its network as a foreign file (channels-last
``input_1`` [N, 1000, 12] in microvolts, Sigmoid output ``dense_1``, no card), then runs the user's
path: ``compress describe`` -> ``benchmark run`` on the test fold -> ``compress quantize``.  Prints
JSON: the described file's fold-10 macro AUC from the benchmark and from a plain onnxruntime loop
over the same records fed in the foreign layout (they must agree within 1e-4), and the int8 drop.

Usage: python tools/foreign_ptbxl_check.py MODEL.onnx CACHE OUT_DIR
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from torch import nn

from benchmark.harness import BenchmarkConfig, run_benchmark
from compress.describe import describe_model
from compress.quantize import quantize_model
from runtime.dataset.cache import open_dataset
from runtime.metrics import macro_auc
from train.export import module_from_onnx


class KerasStyle(nn.Module):
    """Our network behind a Keras-like interface: [N, T, L] microvolts in, probabilities out."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.model(x.transpose(1, 2) / 1000.0))


def main(model_path: Path, cache: Path, out: Path) -> dict[str, object]:
    out.mkdir(parents=True, exist_ok=True)
    module, card = module_from_onnx(model_path)
    foreign = out / "keras_style.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(KerasStyle(module.eval()), (torch.zeros(1, card.window, len(card.leads)),), str(foreign),
                          input_names=["input_1"], output_names=["dense_1"], opset_version=13, dynamo=False,
                          dynamic_axes={"input_1": {0: "n"}, "dense_1": {0: "n"}})  # fmt: skip
    described = out / "keras_style.described.onnx"
    describe_model(foreign, described, {"fs": float(card.fs), "leads": None, "classes": ",".join(card.classes),
                                        "layout": None, "units": "uV", "output_kind": None, "window": None})  # fmt: skip
    bench = run_benchmark([described], cache, BenchmarkConfig(time_s=1.0, warmup_s=0.2, bootstrap=0, floor=False))
    dataset = open_dataset(cache)
    indices = dataset.indices("test")
    microvolts = (dataset.millivolts(indices) * 1000.0).astype(np.float32).transpose(0, 2, 1)
    session = ort.InferenceSession(str(foreign), providers=["CPUExecutionProvider"])
    scores = np.concatenate([session.run(None, {"input_1": np.ascontiguousarray(microvolts[i : i + 256])})[0]
                             for i in range(0, len(microvolts), 256)])  # fmt: skip
    plain = macro_auc(np.asarray(dataset.labels[indices]), scores)
    int8 = quantize_model(described, out / "keras_style.described.int8.onnx", cache)
    return {
        "source": str(model_path), "test_records": len(indices),
        "benchmark_macro_auc_described": bench["rows"][0]["macro_auc"], "plain_onnxruntime_macro_auc": plain,
        "difference": bench["rows"][0]["macro_auc"] - plain,
        "int8_test_delta_macro_auc": int8.measured["test"]["delta_macro_auc"],
        "int8_val_delta_macro_auc": int8.measured["val"]["delta_macro_auc"],
        "bytes_fp32": int8.measured["bytes_fp32"], "bytes_int8": int8.measured["bytes_int8"],
    }  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__.strip().splitlines()[-1])
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])), indent=2))
