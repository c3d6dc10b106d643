"""``compress prune``: structured channel removal with Torch-Pruning, then fine-tuning.

The torch module is rebuilt from the ONNX file's own card and weights; Torch-Pruning's
dependency graph removes whole channels consistently (residual adds, depthwise groups,
concatenations); the input stem and the classifier are in ``ignored_layers``; channel
counts are rounded (``round_to``) for SIMD.  Fine-tuning distills from the unpruned model.
The output has fewer parameters, MACs and bytes, and its card records the new channels.
"""

from __future__ import annotations

import copy
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from compress.configs import DistillConfig, PruneConfig
from compress.describe import FOREIGN_ARCHITECTURE
from compress.kd import multilabel_kd_loss
from compress.lineage import lineage_step
from models.registry import count_parameters
from runtime.card import has_card, read_card
from runtime.errors import ModelError, UsageError
from runtime.evaluate import check_compatible, resolve_dataset
from runtime.onnx_io import load_model
from runtime.progress import log
from train.config import FitConfig, RunSpec
from train.data import SplitArrays, load_split
from train.export import module_from_onnx
from train.fit import run_fit
from train.loop import LossFn, Normalized


def importance_criterion(name: str) -> Any:
    import torch_pruning as tp

    if name == "taylor":
        return tp.importance.TaylorImportance()
    return tp.importance.MagnitudeImportance(p=1 if name == "l1" else 2)


def _prunable_convs(model: Normalized) -> list[nn.Conv1d]:
    return [m for m in model.net.modules() if isinstance(m, nn.Conv1d)]


def _ignored(model: Normalized) -> list[nn.Module]:
    """The input stem (first conv) and the classifier keep their channels.

    Concat-pooling heads (average and max of the same features, then BatchNorm) are kept
    whole too, with the convs that feed them, and so are the Inception branch outputs that
    are concatenated and flattened: Torch-Pruning cannot map one channel onto those
    concatenations consistently.
    """
    from models.layers import ConcatPool

    convs = _prunable_convs(model)
    ignored: list[nn.Module] = [model.net.classifier]
    if convs:
        ignored.append(convs[0])
    if isinstance(getattr(model.net, "pool", None), ConcatPool):
        ignored.append(model.net.head)
        last = model.net.features[-1]
        ignored += (
            [m for m in last.modules() if isinstance(m, nn.Conv1d)][-2:]
            if hasattr(last, "shortcut")
            else [m for m in last.modules() if isinstance(m, nn.Conv1d)]
        )
    if hasattr(model.net, "branch_pool"):  # Inception: concatenated branches feed a flatten + dense layer
        net = model.net
        ignored += [net.branch1[0], net.branch3[2], net.branch5[2], net.branch_pool[1]]
    return ignored


def _check_not_emptied(model: Normalized, config: PruneConfig) -> None:
    for name, module in model.net.named_modules():
        if isinstance(module, nn.Conv1d) and module.groups == 1:
            kept = module.out_channels * (1.0 - config.pruning_ratio)
            if kept < 1.0:
                raise UsageError(
                    f"--pruning-ratio {config.pruning_ratio} would empty layer {name} ({module.out_channels} channels); "
                    "use a smaller ratio"
                )


def prune_module(model: Normalized, config: PruneConfig, calibration: torch.Tensor, labels: torch.Tensor) -> Normalized:
    """Remove channels in place (a copy of ``model``); returns the pruned module."""
    import torch_pruning as tp

    pruned = copy.deepcopy(model).eval()
    _check_not_emptied(pruned, config)
    example = calibration[:2]
    pruner = tp.pruner.MetaPruner(
        pruned, example, importance=importance_criterion(config.importance), pruning_ratio=config.pruning_ratio,
        iterative_steps=config.iterative_steps, ignored_layers=_ignored(pruned), round_to=config.round_to,
        in_channel_groups={}, out_channel_groups={}, num_heads={}, channel_groups={},  # fresh dicts: TP mutates defaults
    )  # fmt: skip
    for step in range(config.iterative_steps):
        if config.importance == "taylor":
            pruned.zero_grad()
            loss = nn.functional.binary_cross_entropy_with_logits(pruned(calibration), labels)
            loss.backward()
        pruner.step()
        log(f"pruning step {step + 1}/{config.iterative_steps}: {count_parameters(pruned.net):,} parameters left")
    pruned.zero_grad(set_to_none=True)
    for module in pruned.net.modules():
        if isinstance(module, nn.Conv1d) and module.out_channels < 1:
            raise ModelError("pruning emptied a layer; use a smaller --pruning-ratio")
    return pruned


def prune(
    model_path: str | Path,
    output: Path,
    config: PruneConfig,
    fit_config: FitConfig,
    data: str | Path | None = None,
    force: bool = False,
    max_train: int | None = None,
    kd: DistillConfig | None = None,
) -> dict[str, Any]:
    """Prune ``model_path`` and fine-tune it with the unpruned model as teacher; write ``output``."""
    kd = kd or DistillConfig()
    source = Path(model_path)
    model = load_model(source)
    if has_card(model) and read_card(model, str(source)).architecture.get("name") == FOREIGN_ARCHITECTURE:
        from compress.prune_foreign import prune_foreign

        card = read_card(model, str(source))
        dataset = resolve_dataset(card, data, str(source))
        check_compatible(card, dataset, str(source))
        return prune_foreign(model, source, card, dataset, output, config, fit_config, max_train, kd)
    original, card = module_from_onnx(source)
    dataset = resolve_dataset(card, data, str(source))
    check_compatible(card, dataset, str(source))
    leads = tuple(card.leads)
    calibration_split = load_split(dataset, "train", leads, limit=64, seed=fit_config.seed)
    calibration = calibration_split.millivolts(slice(0, 64))
    labels = torch.from_numpy(calibration_split.labels[:64])
    before = count_parameters(original.net)
    pruned = prune_module(original, config, calibration, labels)
    log(f"pruned {source.name}: {before:,} -> {count_parameters(pruned.net):,} parameters")
    teacher = original.eval()
    for parameter in teacher.parameters():
        parameter.requires_grad_(False)

    def loss_factory(train: SplitArrays) -> LossFn:
        def loss(logits: torch.Tensor, x: torch.Tensor, labels: torch.Tensor, rows: np.ndarray) -> torch.Tensor:
            with torch.no_grad():
                target = teacher.to(logits.device)(x.to(logits.device))
            return multilabel_kd_loss(logits, target, labels, kd.temperature, kd.alpha)

        return loss

    parameters = {
        **asdict(config),
        **asdict(kd),
        "parameters_before": before,
        "parameters_after": count_parameters(pruned.net),
    }
    lineage = lineage_step(source, "prune", parameters, card)
    spec = RunSpec(
        arch=card.architecture["name"],
        width=float(card.architecture.get("width", 1.0)),
        leads=leads,
        max_train=max_train,
    )
    if config.finetune_epochs == 0:
        from runtime.atomic import refuse_overwrite
        from train.fit import finish_model

        refuse_overwrite(output, source)
        new_card = finish_model(pruned, dataset, spec, fit_config, {"finetune_epochs": 0}, lineage, output,
                                {**card.compression, "pruning": parameters})  # fmt: skip
        return {"model": str(output), "parameters": new_card.architecture["parameters"],
                "val_macro_auc": new_card.metrics["val"]["macro_auc"],
                "test_macro_auc": new_card.metrics["test"]["macro_auc"]}  # fmt: skip
    tuned = FitConfig(**{**asdict(fit_config), "epochs": config.finetune_epochs})
    run_dir = output.with_name(output.name + ".run")
    summary = run_fit(dataset.path, spec, run_dir, tuned, force=force, initial=pruned, loss_factory=loss_factory,
                      lineage=lineage, out_file=output, extra_identity={"parent": lineage[-1]["parent_sha256"]},
                      compression={**card.compression, "pruning": parameters})  # fmt: skip
    return summary
