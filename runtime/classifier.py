"""``runtime.Classifier``: classify recordings from any source with one of our ONNX files.

``predict(signal, fs, leads)`` maps lead names (aVR/AVR/avr), keeps the leads the model
needs in its order (refusing missing ones by name), resamples any rate >= the model's to
it, cuts records longer than the window into windows (hop = half a window) and takes the
**maximum** probability per class over windows (the PTB-XL benchmark's aggregation: a
finding anywhere in the record counts).  Records shorter than the window are padded with
their edge values if they cover at least half of it, otherwise refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from runtime.card import ModelCard, has_card, read_card
from runtime.errors import DataError, ModelError, UsageError
from runtime.leads import select_leads
from runtime.onnx_io import load_model
from runtime.session import make_session
from runtime.signal import check_finite, flat_leads, resample, windows

AGGREGATIONS = ("max", "mean")


@dataclass
class Prediction:
    """Per-class probabilities and decisions for one recording."""

    probabilities: dict[str, float]
    decisions: dict[str, bool]
    windows: int
    warnings: list[str] = field(default_factory=list)

    @property
    def detected(self) -> list[str]:
        return [name for name, positive in self.decisions.items() if positive]

    def to_dict(self) -> dict[str, Any]:
        return {"probabilities": self.probabilities, "detected": self.detected, "windows": self.windows,
                "warnings": self.warnings}  # fmt: skip


class Classifier:
    """An ONNX ECG classifier with its card: preprocessing, windowing, thresholds."""

    def __init__(self, path: str | Path, threads: int = 1, aggregate: str = "max", hop_fraction: float = 0.5) -> None:
        if aggregate not in AGGREGATIONS:
            raise UsageError(f"aggregate must be one of {', '.join(AGGREGATIONS)}, got {aggregate!r}")
        self.path = Path(path)
        model = load_model(self.path)
        if not has_card(model):
            raise ModelError(
                f"{self.path} has no ecg-shrink model card, so its classes, sampling rate, leads and thresholds are "
                "unknown; use a file exported by 'train export' (or run it with onnxruntime directly)"
            )
        self.card: ModelCard = read_card(model, str(self.path))
        self.session = make_session(self.path, threads=threads)
        self.input = self.session.get_inputs()[0].name
        self.aggregate = aggregate
        self.hop = max(1, int(self.card.window * hop_fraction))

    def prepare(
        self, signal: np.ndarray, fs: float, leads: tuple[str, ...] | list[str], source: str = "record"
    ) -> tuple[np.ndarray, list[str]]:
        """Model-ready windows ``[n, model leads, window]`` and warnings (flat leads)."""
        array = np.asarray(signal, dtype=np.float32)
        if array.ndim != 2:
            raise DataError(f"{source}: expected a 2-D signal [leads, samples], got shape {array.shape}")
        if len(leads) != array.shape[0]:
            raise DataError(f"{source}: {array.shape[0]} signal rows but {len(leads)} lead names")
        if fs < self.card.fs:
            raise DataError(f"{source}: sampled at {fs:g} Hz, below the model's {self.card.fs} Hz; "
                            "a higher-rate recording is needed")  # fmt: skip
        chosen = select_leads(array, leads, self.card.leads, source)
        check_finite(chosen, source, tuple(self.card.leads))
        warnings = [f"{source}: lead {name} is flat (lead-off?)" for name in flat_leads(chosen, tuple(self.card.leads))]
        resampled = resample(chosen, fs, self.card.fs)
        return windows(resampled, self.card.window, self.hop), warnings

    def predict(
        self, signal: np.ndarray, fs: float, leads: tuple[str, ...] | list[str], source: str = "record"
    ) -> Prediction:
        """Classify one recording (see the module docstring for the rules)."""
        batch, warnings = self.prepare(signal, fs, leads, source)
        probabilities = self.session.run(["probabilities"], {self.input: batch})[0]
        combined = probabilities.max(axis=0) if self.aggregate == "max" else probabilities.mean(axis=0)
        return self._prediction(combined, len(batch), warnings)

    def predict_window(self, window: np.ndarray) -> np.ndarray:
        """Probabilities of one already-prepared window ``[model leads, window]``."""
        return self.session.run(["probabilities"], {self.input: window[None].astype(np.float32)})[0][0]

    def _prediction(self, probabilities: np.ndarray, count: int, warnings: list[str]) -> Prediction:
        classes = self.card.classes
        return Prediction(
            probabilities={c: float(p) for c, p in zip(classes, probabilities, strict=True)},
            decisions={c: bool(p >= t) for c, p, t in zip(classes, probabilities, self.card.thresholds, strict=True)},
            windows=count,
            warnings=warnings,
        )
