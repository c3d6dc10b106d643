"""Lineage records: every compression step notes its parent file and parameters in the card."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime.card import ModelCard
from runtime.onnx_io import sha256_file


def lineage_step(
    parent: str | Path, step: str, parameters: dict[str, Any], parent_card: ModelCard | None
) -> list[dict[str, Any]]:
    """The child's lineage: the parent's chain plus this step."""
    chain = list(parent_card.lineage) if parent_card is not None else []
    chain.append({
        "step": step,
        "parent_file": str(Path(parent).resolve()),
        "parent_sha256": sha256_file(parent),
        "parameters": parameters,
    })  # fmt: skip
    return chain
