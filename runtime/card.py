"""The model card carried in an ONNX file's ``metadata_props``.

Each field is stored under ``ecgshrink.<field>`` with a JSON value, so any ONNX tool
shows it and any runtime can read it without our code.  ``read_card`` validates every
field and names the key of anything malformed.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import onnx

from runtime.errors import ModelError
from runtime.leads import STANDARD_LEADS

PREFIX = "ecgshrink."
CARD_VERSION = 1


@dataclass
class ModelCard:
    """What a model needs to be used and trusted: inputs, classes, thresholds, origin, metrics."""

    classes: list[str]
    fs: int
    leads: list[str]
    window: int
    thresholds: list[float]
    architecture: dict[str, Any] = field(default_factory=dict)
    dataset: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    lineage: list[dict[str, Any]] = field(default_factory=list)
    training: dict[str, Any] = field(default_factory=dict)
    compression: dict[str, Any] = field(default_factory=dict)
    environment: dict[str, Any] = field(default_factory=dict)
    card_version: int = CARD_VERSION

    def validate(self) -> ModelCard:
        """Check types and consistency; raise ``ModelError`` naming the key."""
        _require(isinstance(self.classes, list) and bool(self.classes) and all(isinstance(c, str) for c in self.classes),
                 "classes", "a non-empty list of class names")  # fmt: skip
        _require(isinstance(self.fs, int | float) and self.fs > 0, "fs", "a positive sampling rate")
        _require(isinstance(self.leads, list) and bool(self.leads) and all(lead in STANDARD_LEADS for lead in self.leads),
                 "leads", f"a list of standard lead names ({', '.join(STANDARD_LEADS)})")  # fmt: skip
        _require(isinstance(self.window, int) and self.window > 0, "window", "a positive number of samples")
        _require(isinstance(self.thresholds, list) and len(self.thresholds) == len(self.classes)
                 and all(isinstance(t, int | float) and 0 <= t <= 1 for t in self.thresholds),
                 "thresholds", "one probability in [0, 1] per class")  # fmt: skip
        for name in ("architecture", "dataset", "metrics", "training", "compression", "environment"):
            _require(isinstance(getattr(self, name), dict), name, "a JSON object")
        _require(isinstance(self.lineage, list) and all(isinstance(s, dict) for s in self.lineage),
                 "lineage", "a list of step objects")  # fmt: skip
        return self


def _require(ok: bool, key: str, expected: str) -> None:
    if not ok:
        raise ModelError(f"model card key {PREFIX}{key} is malformed: expected {expected}")


def write_card(model: onnx.ModelProto, card: ModelCard) -> onnx.ModelProto:
    """Replace the card in ``model.metadata_props`` (other metadata is kept)."""
    card.validate()
    kept = [(p.key, p.value) for p in model.metadata_props if not p.key.startswith(PREFIX)]
    del model.metadata_props[:]
    for key, value in kept:
        model.metadata_props.add(key=key, value=value)
    for key, value in asdict(card).items():
        model.metadata_props.add(key=PREFIX + key, value=json.dumps(value, sort_keys=True))
    return model


def has_card(model: onnx.ModelProto) -> bool:
    """True if the file carries our model card."""
    return any(p.key == PREFIX + "classes" for p in model.metadata_props)


def read_card(model: onnx.ModelProto, source: str = "model") -> ModelCard:
    """Parse and validate the card; a file without one gets a clear explanation."""
    values: dict[str, Any] = {}
    known = {f.name for f in fields(ModelCard)}
    for prop in model.metadata_props:
        if not prop.key.startswith(PREFIX):
            continue
        key = prop.key[len(PREFIX) :]
        if key not in known:
            continue
        try:
            values[key] = json.loads(prop.value)
        except ValueError:
            raise ModelError(f"{source}: model card key {prop.key} is not valid JSON") from None
    if "classes" not in values:
        raise ModelError(
            f"{source} has no ecg-shrink model card (metadata key {PREFIX}classes); it was not written by this "
            "toolkit, so classes, sampling rate and leads are unknown: export it with 'train export' or pass --data"
        )
    missing = [k for k in ("fs", "leads", "window", "thresholds") if k not in values]
    if missing:
        raise ModelError(f"{source}: model card lacks key(s) {', '.join(PREFIX + k for k in missing)}")
    try:
        card = ModelCard(**values)
    except TypeError as exc:
        raise ModelError(f"{source}: model card malformed ({exc})") from None
    return card.validate()
