"""Torch-free core of the toolkit: everything a device needs to run an ECG model.

Nothing in this package imports torch, so it works on a Raspberry Pi with only
onnxruntime and numpy installed.  Heavy names are exported lazily.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Classifier", "ToolkitError"]


def __getattr__(name: str) -> Any:
    if name == "Classifier":
        from runtime.classifier import Classifier

        return Classifier
    if name == "ToolkitError":
        from runtime.errors import ToolkitError

        return ToolkitError
    raise AttributeError(name)
