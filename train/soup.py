"""``train soup``: one network whose weights average several fine-tunes of one start (a greedy model soup).

Runs fine-tuned from the same initialisation (the same pretrained start, or the same seeded random
weights) at different learning rates or epoch budgets tend to stay in one basin, and the average
of their weights often validates better than any one of them while costing one network at
inference (Wortsman et al., 2022, "Model soups"). The greedy recipe keeps that honest: the runs,
in order of their own validation AUC, are added one at a time and each is kept only if the
average with it validates better. The start itself may be an ingredient (averaging a fine-tune
with its start is the weight interpolation of ``train.interpolate``).

Every candidate is scored twice, keeping the better: with its batch-norm statistics averaged like
the weights (for one run, its own), and measured again on the whole training records (the averaged
means and variances are not those of the averaged network, but statistics measured on whole
records need not suit a network fine-tuned on crops either; on real PTB-XL each wins somewhere).
All ingredients must have trained on the same records (dataset, record count and seed), which that
measurement and the input normalization need. Only the validation split chooses; the test split is
reported.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from runtime.errors import UsageError
from runtime.metrics import macro_auc
from runtime.onnx_io import sha256_file
from runtime.progress import log
from train.config import FitConfig, RunSpec
from train.data import SplitArrays, load_split
from train.fit import (
    MODEL_FILE,
    RUN_SUMMARY,
    check_run_dir,
    finish_model,
    model_file,
    model_from_state,
    pretrained_start,
    training_dataset,
    write_run_summary,
)
from train.interpolate import recalibrate_batchnorm, weighted_state
from train.loop import CHECKPOINT, Normalized, load_checkpoint, predict_torch

# a candidate's batch-norm statistics: averaged like the weights, or measured again on the training records
BATCH_NORM = ("averaged", "measured")
# what every ingredient must share (from its checkpoint's run identity): the network and its training records
SHARED = ("arch", "width", "leads", "max_train", "dataset")


@dataclass
class Ingredient:
    """One candidate of the soup: a name for the record, its weights and (for runs) its run identity and notes."""

    name: str
    state: dict[str, torch.Tensor]
    identity: dict[str, Any] | None = None
    notes: dict[str, Any] | None = None


def run_ingredient(run_dir: Path) -> Ingredient:
    """The best (validation) weights of a ``train fit`` run folder, from its checkpoint."""
    checkpoint = run_dir / CHECKPOINT
    if not checkpoint.is_file():
        raise UsageError(f"{run_dir}: no {CHECKPOINT}; pass run folders written by 'train fit'")
    saved = load_checkpoint(checkpoint)
    if "best_state" not in saved or "identity" not in saved:
        raise UsageError(f"{checkpoint}: not a 'train fit' checkpoint (no best weights or run identity)")
    return Ingredient(run_dir.name, saved["best_state"], saved["identity"], saved.get("notes") or {})


def check_same_training(ingredients: list[Ingredient]) -> dict[str, Any]:
    """The shared run identity of the runs (network, training records, seed); refuse runs that differ."""
    first = ingredients[0].identity
    assert first is not None
    for other in ingredients[1:]:
        assert other.identity is not None
        differing = [key for key in SHARED if other.identity.get(key) != first.get(key)]
        if other.identity["config"]["seed"] != first["config"]["seed"]:  # the seed also drew the training records
            differing.append("seed")
        if differing:
            raise UsageError(f"{other.name} differs from {ingredients[0].name} in {', '.join(differing)}: a soup "
                             "averages runs of one network trained on the same records; pass runs of one seed and size")  # fmt: skip
    return first


def without_repeats(ingredients: list[Ingredient]) -> list[Ingredient]:
    """Drop runs whose identity repeats an earlier one's (the same training, e.g. a run and its --interpolate
    twin): averaging a run with itself would only weight it twice."""
    kept: list[Ingredient] = []
    for ingredient in ingredients:
        twin = next((k for k in kept if k.identity == ingredient.identity), None)
        if twin is not None:
            log(f"soup: {ingredient.name} trained exactly as {twin.name}; used once")
            continue
        kept.append(ingredient)
    return kept


def average_state(states: list[dict[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The uniform mean of the states (``weighted_state``: normalization and integer counters the first's)."""
    return weighted_state(states, [1.0 / len(states)] * len(states))


@dataclass
class Scored:
    """A candidate's validation macro AUC with the batch-norm choice (``BATCH_NORM``) that reached it."""

    auc: float
    batch_norm: str
    state: dict[str, torch.Tensor]


def score(model: Normalized, state: dict[str, torch.Tensor], train: SplitArrays, val: SplitArrays) -> Scored:
    """``state`` loaded into ``model`` with whichever batch-norm statistics validate better (ties: averaged)."""
    best: Scored | None = None
    for batch_norm in BATCH_NORM:
        model.load_state_dict(state)
        if batch_norm == "measured":
            recalibrate_batchnorm(model, train)
        auc = macro_auc(val.labels, predict_torch(model, val, torch.device("cpu")))
        if best is None or auc > best.auc:
            best = Scored(auc, batch_norm, {key: value.clone() for key, value in model.state_dict().items()})
    assert best is not None  # BATCH_NORM is never empty
    return best


def greedy_soup(
    model: Normalized, ingredients: list[Ingredient], train: SplitArrays, val: SplitArrays
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """The greedy soup's weights (with the batch-norm statistics that validated better) and the record of
    what was tried: each ingredient's own validation AUC, then the running soup's as each is tried in that order."""
    alone: dict[str, Scored] = {}
    for ingredient in ingredients:
        alone[ingredient.name] = score(model, ingredient.state, train, val)
        log(f"soup: {ingredient.name} alone: val macro AUC {alone[ingredient.name].auc:.4f}")
    ordered = sorted(ingredients, key=lambda ingredient: -alone[ingredient.name].auc)
    members, best = [ordered[0]], alone[ordered[0].name]
    tried = []
    for candidate in ordered[1:]:
        soup = score(model, average_state([m.state for m in [*members, candidate]]), train, val)
        kept = soup.auc > best.auc
        tried.append({"ingredient": candidate.name, "val_macro_auc": soup.auc, "kept": kept})
        verdict = "kept" if kept else "dropped"
        log(f"soup: + {candidate.name}: val macro AUC {soup.auc:.4f} ({verdict}; best {max(soup.auc, best.auc):.4f})")
        if kept:
            members, best = [*members, candidate], soup
    record = {
        "members": [m.name for m in members], "val_macro_auc": best.auc, "batch_norm": best.batch_norm,
        "alone": {name: scored.auc for name, scored in alone.items()}, "tried": tried,
    }  # fmt: skip
    return best.state, record


def start_name(start: Path) -> str:
    """The start's name among the ingredients (as the soup's record lists it)."""
    return f"start ({start.name})"


def start_sha256(start: Path | None) -> str | None:
    """The checksum of the start's ONNX file (a run folder's model.onnx), None without a start."""
    if start is None:
        return None
    return sha256_file(model_file(start))


def requested(runs: list[Path], start: Path | None) -> dict[str, Any]:
    """What a soup is cooked from, as its record keeps it: the run folders' names and the start's checksum."""
    return {"ingredients": [run.name for run in runs], "start_sha256": start_sha256(start)}


def cooked_from(out: Path, runs: list[Path], start: Path | None) -> dict[str, Any] | None:
    """The summary of the soup in ``out`` if it was cooked from exactly these ingredients, else None. Soups
    recorded before the ingredient list was kept are compared by the names they scored."""
    summary_file = out / RUN_SUMMARY
    if not summary_file.is_file():
        return None
    summary: dict[str, Any] = json.loads(summary_file.read_text())
    record = summary.get("training", {}).get("soup")
    if record is None:
        raise UsageError(f"{out} holds a run that is not a soup; choose another --out")
    names = [run.name for run in runs]
    if "ingredients" in record:
        same = record["ingredients"] == names and record.get("start_sha256") == start_sha256(start)
    else:
        same = sorted(record["alone"]) == sorted([*names, *([start_name(start)] if start else [])])
    return summary if same else None


def run_soup(
    runs: list[Path], out: Path, start: Path | None = None, data: Path | None = None, threads: int | None = None,
    force: bool = False, if_changed: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """Cook the greedy soup of ``runs`` (and ``start``, one of our ONNX files they were fine-tuned from) into run
    folder ``out`` (model.onnx and run.json, as ``train fit`` writes them); return the run summary.
    ``if_changed``: return the soup already in ``out`` if it has these ingredients, else cook it again (a grid
    that grew must not keep a soup of fewer runs)."""
    if len(runs) + (start is not None) < 2:  # before anything in out is kept or removed
        raise UsageError("a soup needs at least two ingredients: pass two or more run folders (or one and --start)")
    if if_changed:
        existing = cooked_from(out, runs, start)
        if existing is not None:
            log(f"soup: {out} already holds the soup of these ingredients; left as it is")
            return existing
        force = True
    check_run_dir(out, force, resume=False)
    if threads:
        torch.set_num_threads(threads)
    ingredients = without_repeats([run_ingredient(run) for run in runs])
    identity = check_same_training(ingredients)
    dataset = training_dataset(runs[0], identity, ingredients[0].notes or {}, data)
    spec = RunSpec(arch=identity["arch"], width=float(identity["width"]), leads=tuple(identity["leads"]),
                   max_train=identity["max_train"])  # fmt: skip
    config = FitConfig(**{**identity["config"], **({"threads": threads} if threads else {})})
    train = load_split(dataset, "train", spec.leads, limit=spec.max_train, seed=config.seed)
    val = load_split(dataset, "val", spec.leads)
    lineage: list[dict[str, Any]] = []
    if start is not None:
        started, lineage, _ = pretrained_start(start, spec, train, None, None)
        ingredients.append(Ingredient(start_name(start), started.state_dict()))
    model = model_from_state(ingredients[0].state, spec, dataset)
    log(f"soup of {len(ingredients)} ingredients, batch norm measured on {len(train)} training records, "
        f"chosen on {len(val)} validation records")  # fmt: skip
    state, record = greedy_soup(model, ingredients, train, val)
    model.load_state_dict(state)
    training = {"soup": {**requested(runs, start), **record}, "train_records": len(train)}
    step = {"step": "soup", "ingredients": record["members"]}
    out.mkdir(parents=True, exist_ok=True)
    target = out / MODEL_FILE
    card = finish_model(model, dataset, spec, config, training, [*lineage, step], target)
    return write_run_summary(out, target, spec, card, training)
