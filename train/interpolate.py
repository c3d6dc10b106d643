"""Weight-space interpolation between a pretrained start and its fine-tuned weights (WiSE-FT).

Fine-tuning a start pretrained on the synthetic default on a few real records peaks after a few
epochs and then forgets what the start knew. Moving the fine-tuned weights part of the way back
towards the start (``(1 - alpha) * start + alpha * tuned``; both share an initialisation, so the
line between them stays in one basin) keeps some of it. ``alpha`` is chosen on the validation
split, like the epoch. Batch-norm statistics are measured again on the whole training records
after interpolation, for two reasons: the interpolated means and variances are not those of the
interpolated network, and fine-tuning measured them on random crops while the exported graph sees
whole records.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from runtime.metrics import macro_auc
from runtime.progress import log
from train.data import SplitArrays
from train.loop import Normalized, predict_torch

# Fractions of the way from the start to the fine-tuned weights that are tried (1.0: the fine-tuned
# weights with their batch-norm statistics measured again on whole training records).
ALPHAS = (0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
BATCH = 100  # records per forward pass when batch-norm statistics are measured again


def weighted_state(states: list[dict[str, torch.Tensor]], weights: list[float]) -> dict[str, torch.Tensor]:
    """The weighted sum of every floating-point tensor of networks that share an initialisation (weights
    summing to 1); the input normalization and integer counters are the first state's (they describe the
    training split the result is used with). Interpolation and model soups both mix weights this way."""
    mixed = {}
    for key, value in states[0].items():
        if key.startswith("normalize_") or not value.is_floating_point():
            mixed[key] = value.clone()
        else:
            mixed[key] = sum((w * state[key].to(value.dtype) for state, w in zip(states, weights, strict=True)),
                             torch.zeros_like(value))  # fmt: skip
    return mixed


def interpolated_state(
    start: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor], alpha: float
) -> dict[str, torch.Tensor]:
    """``(1 - alpha) * start + alpha * tuned``, with the fine-tuned run's normalization (``weighted_state``)."""
    return weighted_state([tuned, start], [alpha, 1.0 - alpha])


def recalibrate_batchnorm(model: nn.Module, train: SplitArrays) -> None:
    """Replace every batch-norm layer's running statistics by their average over ``train`` (whole records)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    momenta = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over all batches
    model.train()
    with torch.no_grad():
        for start in range(0, len(train), BATCH):
            model(train.millivolts(slice(start, start + BATCH)))
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    model.eval()


def choose_interpolation(
    model: Normalized, start: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor],
    train: SplitArrays, val: SplitArrays,
) -> dict[str, Any]:  # fmt: skip
    """Load into ``model`` whichever scores the best validation macro AUC: the fine-tuned weights as
    they are, or one of the interpolations in ``ALPHAS`` with its batch-norm statistics measured
    again (ties: the plain weights, then the larger alpha); return what was tried and chosen."""
    device = torch.device("cpu")
    model.cpu()
    candidates: list[tuple[str, float | None]] = [("tuned", None)] + [(f"{a:g}", a) for a in ALPHAS]
    order = {name: rank for rank, (name, _) in enumerate(candidates)}
    scores: dict[str, float] = {}
    best: tuple[tuple[float, bool, int], str, dict[str, torch.Tensor]] | None = None
    for name, alpha in candidates:
        model.load_state_dict(tuned if alpha is None else interpolated_state(start, tuned, alpha))
        if alpha is not None:
            recalibrate_batchnorm(model, train)
        scores[name] = macro_auc(val.labels, predict_torch(model, val, device))
        log(f"start-to-tuned interpolation {name}: val macro AUC {scores[name]:.4f}")
        rank = (round(scores[name], 6), name == "tuned", order[name])
        if best is None or rank > best[0]:
            best = (rank, name, {key: value.clone() for key, value in model.state_dict().items()})
    assert best is not None  # candidates is never empty
    model.load_state_dict(best[2])
    return {"alpha": dict(candidates)[best[1]], "val_macro_auc": scores}
