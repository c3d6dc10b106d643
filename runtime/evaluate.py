"""Scoring an ONNX model on a prepared dataset split (torch-free; used by train, compress, benchmark)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from runtime.card import ModelCard
from runtime.dataset.cache import PreparedDataset, open_dataset
from runtime.errors import DataError, UsageError
from runtime.metrics import evaluation
from runtime.session import predict


def check_compatible(card: ModelCard, dataset: PreparedDataset, source: str = "model") -> None:
    """Refuse a model whose classes, sampling rate, leads or window do not match the data (names both)."""
    if list(card.classes) != list(dataset.classes):
        raise DataError(f"{source} predicts {card.classes} but {dataset.path} has classes {list(dataset.classes)}")
    if int(card.fs) != dataset.fs:
        raise DataError(
            f"{source} expects {card.fs} Hz but {dataset.path} is {dataset.fs} Hz; prepare the data with --fs {card.fs}"
        )
    missing = [lead for lead in card.leads if lead not in dataset.leads]
    if missing:
        raise DataError(f"{source} needs leads {', '.join(missing)} that {dataset.path} lacks")
    if card.window != dataset.samples:
        raise DataError(
            f"{source} takes {card.window}-sample windows but {dataset.path} has {dataset.samples}-sample records"
        )


def split_inputs(
    dataset: PreparedDataset, split: str, leads: list[str], limit: int | None = None, seed: int = 0
) -> tuple[np.ndarray, Any]:
    """Record indices of a split (optionally a seeded subsample) and a loader of their mV signals."""
    indices = dataset.sample(split, limit, seed, salt=17)
    lead_index = [dataset.leads.index(lead) for lead in leads]

    def load(rows: slice) -> np.ndarray:
        return dataset.millivolts(indices[rows])[:, lead_index]

    return indices, load


def split_scores(
    session: ort.InferenceSession, dataset: PreparedDataset, split: str, leads: list[str], limit: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and predicted probabilities of a split."""
    indices, load = split_inputs(dataset, split, leads, limit)
    probabilities = predict(session, load, len(indices))
    return np.asarray(dataset.labels[indices]), probabilities


def evaluate_splits(
    session: ort.InferenceSession, dataset: PreparedDataset, card: ModelCard, splits: tuple[str, ...] = ("val", "test")
) -> dict[str, Any]:
    """Macro/per-class AUC, Fmax and F1 at the card's thresholds for each split."""
    return {
        split: evaluation(*split_scores(session, dataset, split, card.leads), card.classes, card.thresholds)
        for split in splits
    }


def resolve_dataset(card: ModelCard | None, data: str | Path | None, source: str) -> PreparedDataset:
    """``--data`` if given, else the dataset named in the card (its cache, then its source folder)."""
    if data is not None:
        return open_dataset(data)
    if card is None:
        raise UsageError(f"{source} has no model card, so its calibration data is unknown; pass --data DIR|CACHE")
    for key in ("cache", "source"):
        location = card.dataset.get(key)
        if location and Path(location).exists():
            dataset = open_dataset(location)
            expected = card.dataset.get("content_hash")
            if expected and dataset.manifest.get("content_hash") != expected:
                continue
            return dataset
    described = card.dataset.get("source") or " ".join(
        str(card.dataset[key]) for key in ("name", "version") if card.dataset.get(key) not in (None, "", "unknown")
    )
    hint = " (PhysioNet's PTB-XL folder, or its 'train prepare' cache)" if card.dataset.get("name") == "ptb-xl" else ""
    raise UsageError(
        f"{source} was trained on {described or 'an unknown dataset'}, which is not found here; "
        f"pass --data DIR|CACHE{hint}"
    )
