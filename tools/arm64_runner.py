"""Run our models through the project's own runtime code and save the probabilities.

Used twice by tools/arm64_check.sh: natively on x86 (the reference) and under QEMU with
aarch64 Python, onnxruntime and numpy (the check).  Usage:
    python arm64_runner.py OUT_DIR MODEL.onnx [MODEL.onnx ...] -- RECORD [RECORD ...]
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numpy as np
import onnxruntime

from runtime.classifier import Classifier
from runtime.records import read_recording


def main() -> None:
    out = Path(sys.argv[1])
    split = sys.argv.index("--")
    models, records = sys.argv[2:split], sys.argv[split + 1 :]
    out.mkdir(parents=True, exist_ok=True)
    inputs = [read_recording(r) for r in records]
    for model in models:
        classifier = Classifier(model)
        batch = np.concatenate([classifier.prepare(rec.signal, rec.fs, rec.leads)[0] for rec in inputs])
        probabilities = classifier.session.run(["probabilities"], {classifier.input: batch})[0]
        np.save(out / f"{Path(model).stem}.npy", probabilities)
    info = {"machine": platform.machine(), "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
            "providers": onnxruntime.get_available_providers()}  # fmt: skip
    (out / "info.json").write_text(json.dumps(info))
    print(json.dumps(info))


if __name__ == "__main__":
    main()
