"""``compress inspect``: what an ONNX file is (ops, Q/DQ, parameters, MACs, bytes, card, lineage)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runtime.card import has_card, read_card
from runtime.graph_stats import graph_summary
from runtime.onnx_io import load_model, sha256_file


def inspect_model(path: str | Path) -> dict[str, Any]:
    """Facts about a model file as one JSON-ready dict (works without a card too)."""
    source = Path(path)
    model = load_model(source)
    card = read_card(model, str(source)) if has_card(model) else None
    dims = model.graph.input[0].type.tensor_type.shape.dim
    leads = len(card.leads) if card else (dims[1].dim_value if len(dims) > 1 and dims[1].dim_value else 12)
    window = card.window if card else (dims[2].dim_value if len(dims) > 2 and dims[2].dim_value else 1000)
    info: dict[str, Any] = {
        "file": str(source),
        "bytes": source.stat().st_size,
        "sha256": sha256_file(source),
        "opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import},
        "inputs": [_value(v) for v in model.graph.input],
        "outputs": [_value(v) for v in model.graph.output],
        **graph_summary(model, [1, leads, window]),
    }
    if card is not None:
        from dataclasses import asdict

        info["card"] = asdict(card)
        info["lineage"] = [f"{step['step']} <- {Path(step['parent_file']).name} ({step['parent_sha256'][:12]})"
                           for step in card.lineage]  # fmt: skip
    else:
        info["card"] = None
    return info


def _value(value: Any) -> dict[str, Any]:
    dims = [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]
    return {"name": value.name, "shape": dims}
