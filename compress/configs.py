"""Typed settings of the distill and prune steps (torch-free, declared once).

Their command-line options (``compress distill``/``prune``) and recipe keys are derived from
these fields by ``runtime.settings``; the modules that run the steps import torch, these do not.
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.settings import check_settings, setting

IMPORTANCES = ("l1", "l2", "taylor")


@dataclass(frozen=True)
class DistillConfig:
    """Knowledge-distillation loss: soft teacher targets at a temperature, mixed with the labels."""

    temperature: float = setting(4.0, "Softening temperature of teacher and student logits.", minimum=0,
                                 open_minimum=True)  # fmt: skip
    alpha: float = setting(0.5, "Weight of the soft (teacher) term; 1 - alpha weighs the labels.", minimum=0,
                           maximum=1)  # fmt: skip

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True)
class PruneConfig:
    """What to remove and how (Torch-Pruning's vocabulary); fine-tuning distills from the unpruned model."""

    pruning_ratio: float = setting(0.5, "Fraction of channels to remove.", minimum=0, open_minimum=True, maximum=1,
                                   open_maximum=True)  # fmt: skip
    importance: str = setting("l1", "Channel importance criterion.", choices=IMPORTANCES)
    iterative_steps: int = setting(1, "Prune in this many rounds.", minimum=1)
    round_to: int = setting(8, "Round kept channel counts to a multiple of this (SIMD width).", minimum=1)
    finetune_epochs: int = setting(5, "Fine-tuning epochs after pruning (0: none).", minimum=0)

    def __post_init__(self) -> None:
        check_settings(self)
