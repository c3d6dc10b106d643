"""``compress distill``: train a small student from any of our ONNX files as the teacher.

The teacher runs in onnxruntime (no torch teacher needed); its logits on the training split
are computed once up front (no augmentation), then the student trains with the multi-label
KD loss.  ``--leads`` trains a reduced-lead student (e.g. single-lead II) from the 12-lead
teacher.  The student's card records the teacher in its lineage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from compress.configs import DistillConfig
from compress.kd import multilabel_kd_loss
from compress.lineage import lineage_step
from runtime.card import has_card, read_card
from runtime.dataset.cache import PreparedDataset
from runtime.errors import ModelError, UsageError
from runtime.evaluate import check_compatible, resolve_dataset
from runtime.leads import STANDARD_LEADS
from runtime.onnx_io import load_model
from runtime.progress import log
from runtime.session import LOGITS, make_session, predict
from train.config import FitConfig, RunSpec
from train.data import SplitArrays
from train.fit import run_fit
from train.loop import LossFn, Resume


def teacher_leads(teacher: str | Path) -> tuple[str, ...]:
    """The leads a student takes unless told otherwise: the teacher's (the 12 standard ones for a cardless file)."""
    model = load_model(teacher)
    return tuple(read_card(model, str(teacher)).leads) if has_card(model) else STANDARD_LEADS


def teacher_logits(teacher: Path, dataset: PreparedDataset, leads: list[str], split: SplitArrays) -> np.ndarray:
    """The teacher's logits for the records of ``split`` (same order), computed once with onnxruntime."""
    session = make_session(teacher)
    lead_index = [dataset.leads.index(lead) for lead in leads]
    log(f"computing teacher targets on {len(split)} training records")
    return predict(session, lambda rows: dataset.millivolts(split.indices[rows])[:, lead_index], len(split),
                   output=LOGITS)  # fmt: skip


def distill(
    teacher: str | Path,
    spec: RunSpec,
    output: Path,
    fit_config: FitConfig,
    kd: DistillConfig,
    data: str | Path | None = None,
    force: bool = False,
    resume: Resume = False,
) -> dict[str, Any]:
    """Distill ``teacher`` into ``spec``; write ``output`` (run files in ``<output>.run/``)."""
    teacher_path = Path(teacher)
    model = load_model(teacher_path)
    if not has_card(model):
        raise ModelError(f"{teacher_path} has no ecg-shrink model card; distill needs the teacher's classes, leads and "
                         "sampling rate: export the teacher with 'train export' first")  # fmt: skip
    card = read_card(model, str(teacher_path))
    dataset = resolve_dataset(card, data, str(teacher_path))
    check_compatible(card, dataset, str(teacher_path))
    missing = [lead for lead in spec.leads if lead not in card.leads]
    if missing:
        raise UsageError(f"--leads {', '.join(missing)} are not inputs of the teacher ({', '.join(card.leads)})")
    if fit_config.augment:
        raise UsageError("--augment is not available for distillation: the teacher's targets are computed once")
    teacher_leads = list(card.leads)

    def loss_factory(train: SplitArrays) -> LossFn:
        targets = torch.from_numpy(teacher_logits(teacher_path, dataset, teacher_leads, train))

        def loss(logits: torch.Tensor, x: torch.Tensor, labels: torch.Tensor, rows: np.ndarray) -> torch.Tensor:
            return multilabel_kd_loss(logits, targets[rows].to(logits.device), labels, kd.temperature, kd.alpha)

        return loss

    parameters = {"arch": spec.arch, "width": spec.width, "leads": list(spec.leads), "temperature": kd.temperature,
                  "alpha": kd.alpha, "epochs": fit_config.epochs, "seed": fit_config.seed}  # fmt: skip
    lineage = lineage_step(teacher_path, "distill", parameters, card)
    run_dir = output.with_name(output.name + ".run")
    return run_fit(dataset.path, spec, run_dir, fit_config, force=force, resume=resume, loss_factory=loss_factory,
                   lineage=lineage, out_file=output, extra_identity={"teacher": lineage[-1]["parent_sha256"], **parameters},
                   compression={"distillation": {"teacher": str(teacher_path.resolve()), **parameters}})  # fmt: skip
