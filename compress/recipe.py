"""``compress run RECIPE.toml``: chain steps (distill -> prune -> quantize), each writing a new ONNX.

A recipe names its input model, its dataset and an output folder, then a list of steps::

    input = "runs/teacher/model.onnx"
    data = "out/cache"          # optional: else each model's card
    out = "out/recipe"

    [[steps]]
    step = "distill"
    arch = "sepresnet"
    width = 0.5
    epochs = 10

    [[steps]]
    step = "prune"
    pruning_ratio = 0.5
    finetune_epochs = 3

    [[steps]]
    step = "quantize"

Step ``k`` writes ``out/<k>-<step>.onnx``; ``out/manifest.json`` records each step's input
sha256, parameters and output sha256.  A re-run skips steps whose input and parameters are
unchanged and whose output is intact.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runtime.atomic import atomic_write_text
from runtime.errors import UsageError
from runtime.onnx_io import sha256_file
from runtime.progress import log

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

MANIFEST = "manifest.json"
FIT_KEYS = {"epochs", "batch_size", "lr", "patience", "seed", "threads"}
STEP_KEYS: dict[str, set[str]] = {
    "distill": {"arch", "width", "leads", "temperature", "alpha", "max_train"} | FIT_KEYS,
    "prune": {"pruning_ratio", "importance", "iterative_steps", "round_to", "finetune_epochs", "max_train"} | FIT_KEYS,
    "quantize": {"preset", "calib_samples", "calibrate_method", "per_channel", "activations", "nodes_to_exclude",
                 "max_auc_drop", "seed"},
}  # fmt: skip


def load_recipe(path: Path) -> dict[str, Any]:
    """Parse and validate a recipe; errors name the step and key."""
    if not path.is_file():
        raise UsageError(f"recipe {path} not found")
    try:
        recipe = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"recipe {path} is not valid TOML ({exc})") from None
    base = path.parent
    if "input" not in recipe:
        raise UsageError(f"recipe {path} has no 'input' (the model to start from)")
    source = (base / recipe["input"]).resolve()
    if not source.is_file():
        raise UsageError(f"recipe {path}: input {recipe['input']} not found")
    steps = recipe.get("steps")
    if not isinstance(steps, list) or not steps:
        raise UsageError(f"recipe {path} has no [[steps]]")
    for index, step in enumerate(steps, start=1):
        name = step.get("step")
        if name not in STEP_KEYS:
            raise UsageError(
                f"recipe {path}: step {index} has unknown step {name!r}; use one of {', '.join(STEP_KEYS)}"
            )
        unknown = sorted(set(step) - STEP_KEYS[name] - {"step"})
        if unknown:
            raise UsageError(f"recipe {path}: step {index} ({name}) has unknown key(s) {', '.join(unknown)}")
        if name == "distill" and "arch" not in step:
            raise UsageError(f"recipe {path}: step {index} (distill) needs 'arch'")
        if name == "prune" and "pruning_ratio" not in step:
            raise UsageError(f"recipe {path}: step {index} (prune) needs 'pruning_ratio'")
    data = recipe.get("data")
    return {
        "input": source,
        "data": (base / data).resolve() if data else None,
        "out": (base / recipe.get("out", path.stem + "-out")).resolve(),
        "steps": steps,
    }


def _fit_config(step: dict[str, Any]) -> Any:
    from train.loop import FitConfig

    return FitConfig(**{k: step[k] for k in FIT_KEYS if k in step})


def _run_distill(source: Path, target: Path, step: dict[str, Any], data: Path | None) -> None:
    from compress.distill import DistillConfig, distill
    from runtime.card import read_card
    from runtime.leads import parse_lead_list
    from runtime.onnx_io import load_model
    from train.fit import RunSpec

    leads = parse_lead_list(step["leads"]) if "leads" in step else tuple(read_card(load_model(source)).leads)
    spec = RunSpec(step["arch"], float(step.get("width", 1.0)), leads, step.get("max_train"))
    kd = DistillConfig(step.get("temperature", 4.0), step.get("alpha", 0.5))
    distill(source, spec, target, _fit_config(step), kd, data=data, force=True)


def _run_prune(source: Path, target: Path, step: dict[str, Any], data: Path | None) -> None:
    from compress.prune import PruneConfig, prune

    keys = ("pruning_ratio", "importance", "iterative_steps", "round_to", "finetune_epochs")
    config = PruneConfig(**{k: step[k] for k in keys if k in step})
    prune(source, target, config, _fit_config(step), data, force=True, max_train=step.get("max_train"))


def _run_quantize(source: Path, target: Path, step: dict[str, Any], data: Path | None) -> None:
    from compress.quant_config import preset
    from compress.quantize import quantize_model

    changes = {
        k: step[k] for k in ("calib_samples", "calibrate_method", "per_channel", "activations", "seed") if k in step
    }
    if "nodes_to_exclude" in step:
        changes["nodes_to_exclude"] = tuple(step["nodes_to_exclude"])
    config = preset(step.get("preset", "auto")).with_changes(**changes)
    quantize_model(source, target, data, config, max_auc_drop=step.get("max_auc_drop"))


RUNNERS: dict[str, Callable[[Path, Path, dict[str, Any], Path | None], None]] = {
    "distill": _run_distill, "prune": _run_prune, "quantize": _run_quantize,
}  # fmt: skip


def run_recipe(path: Path, force: bool = False) -> dict[str, Any]:
    """Execute a recipe; return the manifest (also written to ``out/manifest.json``)."""
    recipe = load_recipe(path)
    out: Path = recipe["out"]
    out.mkdir(parents=True, exist_ok=True)
    manifest_path = out / MANIFEST
    previous = json.loads(manifest_path.read_text()).get("steps", []) if manifest_path.is_file() else []
    current = recipe["input"]
    done: list[dict[str, Any]] = []
    for index, step in enumerate(recipe["steps"], start=1):
        name = step["step"]
        target = out / f"{index}-{name}.onnx"
        input_sha = sha256_file(current)
        parameters = {k: v for k, v in step.items() if k != "step"}
        record = {"index": index, "step": name, "input": str(current), "input_sha256": input_sha,
                  "parameters": parameters, "output": str(target)}  # fmt: skip
        old = previous[index - 1] if index - 1 < len(previous) else None
        reusable = (not force and old is not None and target.is_file()
                    and {k: old.get(k) for k in ("step", "input_sha256", "parameters")} ==
                    {k: record[k] for k in ("step", "input_sha256", "parameters")}
                    and old.get("output_sha256") == sha256_file(target))  # fmt: skip
        if reusable:
            log(f"step {index} ({name}): inputs and parameters unchanged, reusing {target.name}")
            record["reused"] = True
        else:
            log(f"step {index} ({name}): {current.name} -> {target.name}")
            RUNNERS[name](current, target, step, recipe["data"])
            record["reused"] = False
        record["output_sha256"] = sha256_file(target)
        done.append(record)
        manifest = {"recipe": str(path.resolve()), "input": str(recipe["input"]), "steps": done}
        atomic_write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")
        current = target
    return {"recipe": str(path.resolve()), "input": str(recipe["input"]), "steps": done, "final": str(current)}
