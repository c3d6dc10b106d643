"""The models shipped with the package: trained on real PTB-XL, measured on its test fold.

Each ``*.onnx`` file in this folder is one published model with a full card (dataset identity,
fold-10 metrics measured by ``benchmark run``, lineage, licence); ``PRETRAINED.md`` beside
them says how they were made.  ``--model`` options take a path or one of these names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.errors import UsageError

FOLDER = Path(__file__).resolve().parent
DEFAULT_MODEL = "ptbxl-student.int8"
ATTRIBUTION = (
    "Trained on PTB-XL v1.0.3 (Wagner, Strodthoff, Bousseljot, Samek, Schaeffter 2020; PhysioNet; "
    "CC BY 4.0). Research use only: not a medical device."
)


@dataclass(frozen=True)
class ShippedModel:
    """One shipped file: its name (file stem), path and the card figures a listing shows."""

    name: str
    path: Path

    def summary(self) -> dict[str, Any]:
        """Name, bytes, parameters, leads and fold-10 macro AUC from the file's own card."""
        from runtime.card import read_card
        from runtime.onnx_io import load_model

        card = read_card(load_model(self.path), str(self.path))
        test = card.metrics.get("benchmark", card.metrics.get("test", {}))
        return {
            "name": self.name, "default": self.name == DEFAULT_MODEL, "bytes": self.path.stat().st_size,
            "parameters": card.architecture.get("parameters"), "architecture": card.architecture.get("name"),
            "leads": card.leads, "test_macro_auc": test.get("macro_auc"), "path": str(self.path),
        }  # fmt: skip


def shipped_models() -> list[ShippedModel]:
    """Every shipped model, sorted by name."""
    return [ShippedModel(path.name.removesuffix(".onnx"), path) for path in sorted(FOLDER.glob("*.onnx"))]


def resolve_model(model: str | Path | None) -> Path:
    """``model`` as a path if it is one, else a shipped name; ``None`` means the default model."""
    if model is not None and Path(model).exists():
        return Path(model)
    wanted = DEFAULT_MODEL if model is None else str(model).removesuffix(".onnx")
    for shipped in shipped_models():
        if shipped.name == wanted:
            return shipped.path
    names = ", ".join(m.name for m in shipped_models()) or "none"
    if model is None:
        raise UsageError(f"no default model is installed ({DEFAULT_MODEL}); pass --model FILE.onnx")
    raise UsageError(f"{model}: no such file and not a shipped model (shipped: {names}); pass an ONNX file path")
