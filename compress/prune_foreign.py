"""Pruning a foreign model: its ONNX graph becomes a torch module (onnx2torch), Torch-Pruning removes
channels, distillation from the unpruned graph fine-tunes it, and it is exported with its card.

Our own files are rebuilt from their registered architecture (``compress.prune``); a file described
with ``compress describe`` has no such recipe, so its graph itself is converted.  Where the
converter lacks an op, the refusal names it.  The output follows our contract (``ecg`` in mV ->
``probabilities``, ``logits``) because the described graph already does.
"""

from __future__ import annotations

import copy
import sys
import types
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from compress.configs import DistillConfig, PruneConfig
from compress.kd import multilabel_kd_loss
from compress.lineage import lineage_step
from compress.prune import importance_criterion
from runtime.card import ModelCard, write_card
from runtime.dataset.cache import PreparedDataset
from runtime.errors import ModelError
from runtime.evaluate import evaluate_splits, split_scores
from runtime.metrics import best_f1_thresholds
from runtime.onnx_io import save_model
from runtime.progress import log
from runtime.session import LOGITS, make_session
from train.config import FitConfig
from train.data import load_split
from train.export import to_onnx
from train.loop import Normalized, fit


class LogitsOf(nn.Module):
    """The converted graph's ``logits`` output alone (what training and pruning need)."""

    def __init__(self, graph: nn.Module, index: int) -> None:
        super().__init__()
        self.graph = graph
        self.index = index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = self.graph(x)
        return outputs[self.index] if isinstance(outputs, tuple | list) else outputs


def _converter() -> Callable[[onnx.ModelProto], nn.Module]:
    """onnx2torch's ``convert``.

    onnx2torch imports torchvision at import time, for its NMS and RoIAlign converters only.
    Where the installed torchvision does not match torch (PyPI's CUDA-built torchvision beside a
    CPU torch fails with "operator torchvision::nms does not exist"), stand-ins let the converter
    import, and those two ops are refused if a graph ever uses them (no ECG network does).
    """
    try:
        import torchvision  # noqa: F401
    except Exception:
        for name in [key for key in sys.modules if key == "torchvision" or key.startswith("torchvision.")]:
            del sys.modules[name]

        def unavailable(*args: Any, **kwargs: Any) -> Any:
            raise ModelError("this graph uses NMS or RoIAlign, which need a torchvision that matches torch")

        package, ops = types.ModuleType("torchvision"), types.ModuleType("torchvision.ops")
        ops.nms = ops.roi_align = ops.box_convert = unavailable  # type: ignore[attr-defined]
        package.ops = ops  # type: ignore[attr-defined]
        sys.modules["torchvision"], sys.modules["torchvision.ops"] = package, ops
    from onnx2torch import convert

    return convert  # type: ignore[no-any-return]


def torch_module(model: onnx.ModelProto, source: str) -> LogitsOf:
    """The ONNX graph as a torch module returning logits; refuses in one line naming a missing op."""
    convert = _converter()

    names = [o.name for o in model.graph.output]
    if LOGITS not in names:
        raise ModelError(f"{source} has no '{LOGITS}' output; describe it first ('compress describe')")
    try:
        graph = convert(model)
    except NotImplementedError as exc:
        text = " ".join(str(exc).split())
        raise ModelError(f"{source}: the ONNX-to-torch converter (onnx2torch) cannot convert it ({text[:160]}); "
                         "prune the original torch model instead") from None  # fmt: skip
    return LogitsOf(graph, names.index(LOGITS))


def _classifier(module: nn.Module) -> nn.Module:
    """The last weight layer in graph order: it produces the logits and keeps its outputs."""
    layers = [m for m in module.modules() if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d)]
    if not layers:
        raise ModelError("the graph has no Linear or Conv layer to prune")
    return layers[-1]


def prune_foreign(
    model: onnx.ModelProto,
    source: Path,
    card: ModelCard,
    dataset: PreparedDataset,
    output: Path,
    config: PruneConfig,
    fit_config: FitConfig,
    max_train: int | None = None,
    kd: DistillConfig | None = None,
) -> dict[str, Any]:
    """Prune and fine-tune a described foreign file; write ``output`` and return its summary."""
    kd = kd or DistillConfig()
    import torch_pruning as tp

    leads = list(card.leads)
    identity_norm = (np.zeros(len(leads), dtype=np.float32), np.ones(len(leads), dtype=np.float32))
    original = Normalized(torch_module(model, str(source)), *identity_norm).eval()
    teacher = copy.deepcopy(original)
    for parameter in teacher.parameters():
        parameter.requires_grad_(False)
    before = sum(p.numel() for p in original.parameters())
    train = load_split(dataset, "train", tuple(leads), limit=max_train, seed=fit_config.seed)
    val = load_split(dataset, "val", tuple(leads))
    example = train.millivolts(slice(0, 2))
    pruned = copy.deepcopy(original)
    pruner = tp.pruner.MetaPruner(
        pruned, example, importance=importance_criterion(config.importance), pruning_ratio=config.pruning_ratio,
        iterative_steps=config.iterative_steps, ignored_layers=[_classifier(pruned)], round_to=config.round_to,
        in_channel_groups={}, out_channel_groups={}, num_heads={}, channel_groups={},
    )  # fmt: skip
    for _ in range(config.iterative_steps):
        pruner.step()
    after = sum(p.numel() for p in pruned.parameters())
    if after >= before:
        raise ModelError(f"{source}: Torch-Pruning found no channel it could remove in this graph")
    log(f"pruned {source.name}: {before:,} -> {after:,} parameters")

    def loss(logits: torch.Tensor, x: torch.Tensor, labels: torch.Tensor, rows: np.ndarray) -> torch.Tensor:
        with torch.no_grad():
            target = teacher(x)
        return multilabel_kd_loss(logits, target, labels, kd.temperature, kd.alpha)

    tuned = FitConfig(**{**asdict(fit_config), "epochs": max(1, config.finetune_epochs)})
    run_dir = output.with_name(output.name + ".run")
    run_dir.mkdir(parents=True, exist_ok=True)
    parameters = {
        **asdict(config),
        **asdict(kd),
        "parameters_before": before,
        "parameters_after": after,
        "converter": "onnx2torch",
    }
    identity = {"parent": lineage_step(source, "prune", parameters, card)[-1]["parent_sha256"], "config": asdict(tuned),
                "dataset": dataset.manifest["content_hash"], "max_train": max_train}  # fmt: skip
    if config.finetune_epochs > 0:
        result = fit(pruned, train, val, tuned, run_dir, identity, loss_fn=loss, resume="auto")
        pruned.load_state_dict(result.best_state)
    pruned = pruned.eval().cpu()
    graph = to_onnx(pruned, card.window, dynamic_time=False)
    new_card = copy.deepcopy(card)
    new_card.lineage = lineage_step(source, "prune", parameters, card)
    new_card.compression = {**card.compression, "pruning": parameters}
    new_card.architecture = {**card.architecture, "parameters": after, "pruned": True}
    session = make_session(graph.SerializeToString())
    new_card.thresholds = best_f1_thresholds(*split_scores(session, dataset, "val", leads))
    new_card.metrics = evaluate_splits(session, dataset, new_card)
    written = save_model(write_card(graph, new_card), output)
    return {"model": str(written), "parameters": after, "parameters_before": before,
            "val_macro_auc": new_card.metrics["val"]["macro_auc"],
            "test_macro_auc": new_card.metrics["test"]["macro_auc"]}  # fmt: skip
