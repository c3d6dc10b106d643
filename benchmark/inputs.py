"""The inputs every timing and runtime check feeds a model: real test records where they can be
found, otherwise seeded noise in the shape the model declares (so files without our card, from
any exporter, can still be timed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from runtime.card import ModelCard
from runtime.dataset.cache import PreparedDataset
from runtime.errors import ModelError, ToolkitError
from runtime.evaluate import resolve_dataset, split_inputs
from runtime.onnx_io import graph_inputs, tensor_dims

NOISE_MV = 0.3


def declared_shape(model: onnx.ModelProto, card: ModelCard | None) -> list[int]:
    """One item's input shape ``[1, ...]``: the card's ``[1, leads, window]``, else the graph's own.

    A dynamic axis other than the batch cannot be guessed: the error says how to describe it.
    """
    if card is not None:
        return [1, len(card.leads), card.window]
    first = graph_inputs(model)[0]
    dims = tensor_dims(first)
    if any(d is None for d in dims[1:]):
        raise ModelError(f"input {first.name!r} has a dynamic axis besides the batch ({dims}); give it a card "
                         "with 'compress describe MODEL --window SAMPLES'")  # fmt: skip
    return [1, *[int(d) for d in dims[1:] if d is not None]]


def find_dataset(card: ModelCard | None, data: str | Path | None, source: str) -> PreparedDataset | None:
    """``--data``, else the card's dataset, else ``None`` (a missing ``--data`` folder is an error)."""
    if card is None and data is None:
        return None
    try:
        return resolve_dataset(card, data, source)
    except ToolkitError:
        if data is not None:
            raise
        return None


def model_inputs(
    model: onnx.ModelProto, card: ModelCard | None, dataset: PreparedDataset | None, records: int, split: str = "test"
) -> np.ndarray:
    """``records`` inputs: real records of ``split`` when a dataset and card are at hand, else seeded noise."""
    if card is not None and dataset is not None:
        indices, load = split_inputs(dataset, split, card.leads, limit=records)
        return np.ascontiguousarray(load(slice(0, len(indices))), dtype=np.float32)
    shape = declared_shape(model, card)
    return np.random.default_rng(0).normal(0, NOISE_MV, (records, *shape[1:])).astype(np.float32)
