"""``train fit``: data -> trained network -> ONNX file with its model card, in one run folder.

Run folder: ``checkpoint.pt`` (every epoch), ``metrics.jsonl``, ``model.onnx`` and
``run.json`` (written last: a folder with ``run.json`` is a finished run).
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import torch

from models import build_model
from runtime.atomic import atomic_write_text
from runtime.card import ModelCard
from runtime.dataset.cache import PreparedDataset, open_dataset
from runtime.errors import UsageError
from runtime.evaluate import evaluate_splits, split_scores
from runtime.metrics import best_f1_thresholds
from runtime.progress import log
from runtime.session import make_session
from train.config import FitConfig, RunSpec
from train.data import SplitArrays, lead_statistics, load_split
from train.export import architecture_entry, export, onnx_bytes
from train.loop import LossFn, Normalized, Resume, bce_loss, fit

RUN_SUMMARY = "run.json"
MODEL_FILE = "model.onnx"


def environment(seed: int) -> dict[str, Any]:
    """Library versions and seed, recorded in every card for reproducibility."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        toolkit = version("ecg-shrink")
    except PackageNotFoundError:
        toolkit = "unknown"
    return {
        "seed": seed, "toolkit": toolkit, "python": platform.python_version(), "torch": torch.__version__,
        "onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
    }  # fmt: skip


def check_run_dir(out: Path, force: bool, resume: Resume) -> None:
    """Refuse to overwrite a finished run unless --force."""
    if (out / RUN_SUMMARY).is_file() and not force:
        raise UsageError(
            f"{out} already holds a finished run ({RUN_SUMMARY}); pass --force to retrain or choose another --out"
        )
    if force and not resume:
        for name in ("checkpoint.pt", "metrics.jsonl", MODEL_FILE, RUN_SUMMARY):
            (out / name).unlink(missing_ok=True)


def model_file(source: Path) -> Path:
    """The ONNX file a model argument names: the file itself, or a run folder's model.onnx."""
    return source / MODEL_FILE if source.is_dir() else source


def pretrained_start(
    source: Path, spec: RunSpec, train: SplitArrays, lineage: list[dict[str, Any]] | None,
    extra_identity: dict[str, Any] | None,
) -> tuple[Normalized, list[dict[str, Any]], dict[str, Any]]:  # fmt: skip
    """The network of ``source`` (same architecture, width and leads as ``spec``) renormalized for
    ``train``, with the lineage step and run identity that record where it started."""
    from runtime.onnx_io import sha256_file
    from train.export import module_from_onnx

    path = model_file(source)
    if not path.is_file():
        raise UsageError(f"--init {source}: no model file there; pass one of our ONNX files or a run folder")
    pretrained, card = module_from_onnx(path)
    theirs = (card.architecture.get("name"), float(card.architecture.get("width", 1.0)), tuple(card.leads))
    ours = (spec.arch, spec.width, tuple(spec.leads))
    if theirs != ours:
        raise UsageError(f"--init {path.name} is {theirs[0]} width {theirs[1]:g} on {len(theirs[2])} lead(s); this run "
                         f"trains {ours[0]} width {ours[1]:g} on {len(ours[2])}: pass matching --arch/--width/--leads")  # fmt: skip
    mean, std = lead_statistics(train)
    digest = sha256_file(path)
    step = {"step": "init", "parent": path.name, "parent_sha256": digest, "parent_dataset": card.dataset.get("name")}
    return (
        Normalized(pretrained.net, mean, std),
        [*(lineage or card.lineage), step],
        {**(extra_identity or {}), "init_sha256": digest},
    )


def finish_model(
    model: Normalized,
    dataset: PreparedDataset,
    spec: RunSpec,
    config: FitConfig,
    training: dict[str, Any],
    lineage: list[dict[str, Any]],
    out_file: Path,
    extra: dict[str, Any] | None = None,
) -> ModelCard:
    """Pick thresholds on validation and measure metrics with onnxruntime on the exported graph, then write it."""
    model = model.eval().cpu()
    card = ModelCard(
        classes=list(dataset.classes), fs=dataset.fs, leads=list(spec.leads), window=dataset.samples,
        thresholds=[0.5] * len(dataset.classes),
        architecture=architecture_entry(model, spec.arch, spec.width, dataset.samples),
        dataset=dataset.identity(), training={**training, "config": asdict(config)},
        lineage=lineage, environment=environment(config.seed), compression=extra or {},
    )  # fmt: skip
    session = make_session(onnx_bytes(model, card), threads=config.threads or 0)
    labels, scores = split_scores(session, dataset, "val", card.leads)
    card.thresholds = best_f1_thresholds(labels, scores)
    card.metrics = evaluate_splits(session, dataset, card)
    export(model, card, out_file)
    return card


def run_fit(
    data: str | Path,
    spec: RunSpec,
    out: Path,
    config: FitConfig,
    force: bool = False,
    resume: Resume = False,
    loss_fn: LossFn = bce_loss,
    lineage: list[dict[str, Any]] | None = None,
    out_file: Path | None = None,
    extra_identity: dict[str, Any] | None = None,
    compression: dict[str, Any] | None = None,
    initial: Normalized | None = None,
    loss_factory: Callable[[SplitArrays], LossFn] | None = None,
    init_from: Path | None = None,
    interpolate: bool = False,
) -> dict[str, Any]:
    """Train ``spec`` on ``data`` into run folder ``out`` and export it; return the run summary.

    ``init_from``: start from the weights of one of our ONNX files of the same architecture (e.g. a
    model pretrained on the synthetic default), with the normalization of this training split.
    ``interpolate``: then export the interpolation between start and fine-tuned weights that
    validates best (``train.interpolate``)."""
    if interpolate and init_from is None:
        raise UsageError("--interpolate moves the fine-tuned weights back towards a start: pass --init MODEL too")
    check_run_dir(out, force, resume)
    out.mkdir(parents=True, exist_ok=True)
    dataset = open_dataset(data)
    train = load_split(dataset, "train", spec.leads, limit=spec.max_train, seed=config.seed)
    val = load_split(dataset, "val", spec.leads)
    start_state: dict[str, torch.Tensor] | None = None  # the start's weights, kept only to interpolate towards
    if init_from is not None:
        initial, lineage, extra_identity = pretrained_start(init_from, spec, train, lineage, extra_identity)
        if interpolate:
            start_state = {key: value.detach().clone() for key, value in initial.state_dict().items()}
    if initial is None:
        mean, std = lead_statistics(train)
        torch.manual_seed(config.seed)
        net = build_model(spec.arch, width=spec.width, in_channels=len(spec.leads),
                          num_classes=len(dataset.classes), samples=dataset.samples)  # fmt: skip
        model = Normalized(net, mean, std)
    else:
        model = initial
    identity = {
        "arch": spec.arch, "width": spec.width, "leads": list(spec.leads), "max_train": spec.max_train,
        "dataset": dataset.manifest["content_hash"], "config": asdict(config), **(extra_identity or {}),
    }  # fmt: skip
    log(f"training {spec.arch} (width {spec.width}) on {len(train)} records, validating on {len(val)}")
    notes = {"data": str(data), "arch": spec.arch, "width": spec.width, "leads": list(spec.leads)}
    if loss_factory is not None:
        loss_fn = loss_factory(train)
    result = fit(model, train, val, config, out, identity, loss_fn=loss_fn, resume=resume, notes=notes)
    model.load_state_dict(result.best_state)
    from train.loop import Distributed

    if not Distributed.from_env().main:  # under torchrun only rank 0 exports
        return {"model": None, "rank": Distributed.from_env().rank}
    training = {
        "best_epoch": result.best_epoch, "epochs_run": result.epochs_run, "best_val_macro_auc": result.best_val_auc,
        "train_records": len(train), "seconds": round(result.seconds, 1),
        "records_per_s": round(float(np.mean([h["records_per_s"] for h in result.history])), 1) if result.history else None,
    }  # fmt: skip
    if start_state is not None:  # --interpolate (which the guard above ties to --init)
        from train.interpolate import choose_interpolation

        training["interpolation"] = choose_interpolation(model, start_state, result.best_state, train, val)
    target = out_file or out / MODEL_FILE
    card = finish_model(model.cpu(), dataset, spec, config, training, lineage or [], target, compression)
    return write_run_summary(out, target, spec, card, training)


def write_run_summary(
    out: Path, target: Path, spec: RunSpec, card: ModelCard, training: dict[str, Any]
) -> dict[str, Any]:
    """Write ``out/run.json`` (last: it marks a finished run) for the model exported to ``target``; return it."""
    summary = {
        "model": str(target), "arch": spec.arch, "width": spec.width, "leads": list(spec.leads),
        "parameters": card.architecture["parameters"], "training": training,
        "val_macro_auc": card.metrics["val"]["macro_auc"], "test_macro_auc": card.metrics["test"]["macro_auc"],
        "test_auc": card.metrics["test"]["auc"], "thresholds": card.thresholds,
    }  # fmt: skip
    atomic_write_text(out / RUN_SUMMARY, json.dumps(summary, indent=2) + "\n")
    return summary


def model_from_state(state: dict[str, torch.Tensor], spec: RunSpec, dataset: PreparedDataset) -> Normalized:
    """A fresh ``spec`` network for ``dataset`` carrying a saved state (weights and input normalization)."""
    net = build_model(spec.arch, width=spec.width, in_channels=len(spec.leads), num_classes=len(dataset.classes),
                      samples=dataset.samples)  # fmt: skip
    model = Normalized(net, state["normalize_mean"].reshape(-1).numpy(), state["normalize_std"].reshape(-1).numpy())
    model.load_state_dict(state)
    return model


def training_dataset(
    source: Path, identity: dict[str, Any], notes: dict[str, Any], data: str | Path | None
) -> PreparedDataset:
    """The dataset a checkpointed run trained on: ``data`` or the one its notes name, refused if its content
    is not the one in the run's identity."""
    dataset = open_dataset(data or notes.get("data") or "")
    if dataset.manifest["content_hash"] != identity["dataset"]:
        raise UsageError(f"{source} was trained on another dataset than {dataset.path}; pass the right --data")
    return dataset


def export_checkpoint(source: Path, data: str | Path | None = None, out_file: Path | None = None) -> dict[str, Any]:
    """Export the best weights of a checkpoint (or a run folder's) to ONNX, measuring its metrics."""
    from train.loop import CHECKPOINT, load_checkpoint

    checkpoint = source / CHECKPOINT if source.is_dir() else source
    if not checkpoint.is_file():
        raise UsageError(f"{source}: no checkpoint found (expected a run folder with {CHECKPOINT} or a .pt file)")
    saved = load_checkpoint(checkpoint)
    notes = saved.get("notes") or {}
    if "arch" not in notes:
        raise UsageError(f"{checkpoint}: checkpoint lacks its run description; was it written by 'train fit'?")
    dataset = training_dataset(checkpoint, saved["identity"], notes, data)
    spec = RunSpec(arch=notes["arch"], width=float(notes["width"]), leads=tuple(notes["leads"]))
    model = model_from_state(saved["best_state"], spec, dataset)
    config = FitConfig(**saved["config"])
    training = {"best_epoch": saved["best_epoch"], "epochs_run": len(saved["history"]),
                "best_val_macro_auc": saved["best_auc"], "exported_from": str(checkpoint)}  # fmt: skip
    target = out_file or checkpoint.parent / MODEL_FILE
    card = finish_model(model, dataset, spec, config, training, [], target)
    return {"model": str(target), "val_macro_auc": card.metrics["val"]["macro_auc"],
            "test_macro_auc": card.metrics["test"]["macro_auc"]}  # fmt: skip
