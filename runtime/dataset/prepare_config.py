"""The settings of the prepare step (``train prepare``, a recipe's ``[prepare]`` table), declared once."""

from __future__ import annotations

from dataclasses import dataclass

from runtime.dataset.splits import SPLIT_PROTOCOLS
from runtime.settings import check_settings, setting


@dataclass(frozen=True)
class PrepareConfig:
    """How a PTB-XL folder becomes a prepared cache."""

    fs: int = setting(100, "Which records to read: 100 (records100) or 500 Hz (records500).", minimum=100,
                      maximum=500)  # fmt: skip
    folds: str = setting("strat_fold", "Train/val/test assignment: PTB-XL's folds (1-8 / 9 / 10) or iterative "
                         "stratification.", choices=SPLIT_PROTOCOLS)  # fmt: skip
    seed: int = setting(0, "Seed of the iterstrat split.")
    skip_bad: bool = setting(False, "Drop unreadable records with a warning instead of stopping.")

    def __post_init__(self) -> None:
        check_settings(self)
        if self.fs not in (100, 500):
            from runtime.errors import UsageError

            raise UsageError(f"--fs must be 100 or 500, got {self.fs}")
