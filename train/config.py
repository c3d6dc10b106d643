"""What to train and how: the typed settings of the fit step (torch-free, declared once).

``RunSpec`` (architecture, width, input leads, data subsample) and ``FitConfig`` (optimisation)
are shared by ``train fit``/``sweep``, ``compress distill``/``prune`` and recipe steps; their
command-line options and recipe keys are derived from these fields (``runtime.settings``).
"""

from __future__ import annotations

from dataclasses import dataclass

from runtime.leads import STANDARD_LEADS, parse_lead_list
from runtime.settings import check_settings, setting

OPTIMIZERS = ("adamw", "adadelta")


@dataclass(frozen=True)
class RunSpec:
    """What to train: architecture, width, input leads and how much data."""

    arch: str = setting(help="Architecture name (see 'train archs').")
    width: float = setting(1.0, "Width multiplier of the architecture's channels.", minimum=0, open_minimum=True)
    leads: tuple[str, ...] = setting(STANDARD_LEADS, "Input leads, e.g. II or I,II,V2.", parse=parse_lead_list)
    max_train: int | None = setting(None, "Use a seeded subsample of the training split.", minimum=1)

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True)
class FitConfig:
    """Hyper-parameters of one training run (recorded in the model card)."""

    epochs: int = setting(30, "Maximum epochs.", minimum=1)
    batch_size: int = setting(64, "Records per step.", minimum=1)
    lr: float = setting(1e-3, "Peak learning rate (cosine schedule).", minimum=0, open_minimum=True)
    optimizer: str = setting("adamw", "Optimizer.", choices=OPTIMIZERS)
    weight_decay: float = setting(1e-2, "AdamW weight decay.", minimum=0)
    patience: int = setting(5, "Epochs without validation-AUC gain before stopping.", minimum=1)
    augment: bool = setting(False, "Random shift, amplitude scaling and noise.")
    crop: int = setting(
        0, "Train on random windows of this many samples (0: whole records; validation and export use whole "
        "records).", minimum=0,
    )  # fmt: skip
    seed: int = setting(0, "Seed of initialisation, shuffling and subsamples.")
    threads: int | None = setting(None, "CPU threads (default: torch's choice).", minimum=1)
    device: str = "auto"

    def __post_init__(self) -> None:
        check_settings(self)


@dataclass(frozen=True)
class SweepConfig:
    """Widths of one architecture (``arch``) trained with the same recipe: parameters vs AUC."""

    widths: tuple[float, ...] = setting(help="Width multipliers, e.g. 0.25,0.5,1.", minimum=0, open_minimum=True)


ACQUISITIONS = ("default", "ptbxl-filter")  # see train.synth.generate
# Beat models: "fitted" (version 3: median beats drawn from statistics of real PTB-XL's training folds,
# train.synth.beat_model) or "dipole" (version 2: a 3-D dipole of Gaussian waves, train.synth.cardiac)
GENERATORS = ("fitted", "dipole")


@dataclass(frozen=True)
class SynthConfig:
    """The synthetic default to generate (``train synth``, a recipe's ``[synthesize]`` table)."""

    records: int = setting(20000, "Number of records.", minimum=1)
    seed: int = setting(0, "Seed: same seed, same bytes.")
    generator: str = setting("fitted", "Beat model: fitted (version 3, statistics of real PTB-XL's training folds) "
                             "or dipole (version 2, a 3-D dipole of Gaussian waves).", choices=GENERATORS)  # fmt: skip
    acquisition: str = setting("default", "Recording chain: default, or ptbxl-filter (PTB-XL's 100 Hz low-pass and "
                               "twice the muscle noise; docs/sim-to-real.md).", choices=ACQUISITIONS)  # fmt: skip

    def __post_init__(self) -> None:
        check_settings(self)
