"""The environment block of every benchmark result: what machine, which libraries, which command."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path
from typing import Any

import onnxruntime as ort

from runtime.cpu import cpu_flags, cpu_model

INT8_FEATURES = {
    "x86_64": ("avx512_vnni", "avx_vnni", "amx_int8", "avx512bw", "avx2"),
    "aarch64": ("asimddp", "i8mm", "sve", "sve2"),
}


def environment() -> dict[str, Any]:
    """CPU, int8-relevant features, cores, onnxruntime and providers, OS, Python, the command line."""
    machine = platform.machine()
    flags = cpu_flags()
    wanted = INT8_FEATURES.get(machine, ())
    return {
        "cpu": cpu_model(),
        "machine": machine,
        "cores": os.cpu_count(),
        "int8_features": {feature: feature in flags for feature in wanted},
        "onnxruntime": ort.__version__,
        "providers_available": ort.get_available_providers(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": __import__("numpy").__version__,
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }
