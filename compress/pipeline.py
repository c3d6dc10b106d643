"""Run a recipe: a TOML list of steps (``compress.steps``), each reused while its inputs are unchanged.

A recipe is the whole study or any chain of steps::

    description = "distill a teacher, prune, quantize"
    input = "runs/teacher.onnx"     # optional: the model the first step reads
    data = "out/cache"              # optional: else [synthesize] below, else each model's card
    out = "out/recipe"              # default output folder (--out overrides)
    needs_data = false              # true: refuse to run without --data (real-data recipes)

    [synthesize]                    # optional: generate the synthetic default from a seed
    records = 3000                  # (keys: train synth's settings; [prepare]: train prepare's)

    [defaults]                      # settings every step takes unless it sets its own
    crop = 250

    [[steps]]
    name = "student-kd"             # the output is out/student-kd.onnx; default "<index>-<step>"
    step = "distill"
    teacher = "teacher"             # another step's name or a file; default: the previous model
    arch = "sepresnet"

A step's keys are the settings of its kind (``compress recipe --keys``). One step cache
(``out/manifest.json``) keys each step by its kind, settings, the sha256 of every input and of
the dataset: interrupt anywhere and rerun, finished steps are reused; ``--force`` redoes them.
The shipped recipes (quick, full, real, tiny) live in ``compress/recipes/``.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from compress.steps import STEPS, Step, StepRun, step
from runtime.atomic import atomic_write_text
from runtime.dataset.prepare_config import PrepareConfig
from runtime.errors import UsageError
from runtime.onnx_io import sha256_file
from runtime.progress import log
from runtime.settings import declared_fields, from_mapping, keys, refuse_unknown
from train.config import SynthConfig

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

MANIFEST = "manifest.json"
TOP_KEYS = ("description", "input", "data", "needs_data", "out", "synthesize", "prepare", "defaults", "steps")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass
class PlannedStep:
    """One recipe step with its settings checked and its inputs resolved."""

    name: str
    kind: Step
    settings: dict[type, Any]
    inputs: dict[str, Any]  # slot -> Path or list[Path]
    output: Path


@dataclass
class Recipe:
    """A checked recipe, ready to run."""

    source: str
    description: str
    data: Path | None
    synthesize: SynthConfig | None  # the synthetic default to generate when no data is given
    prepare: PrepareConfig
    out: Path
    steps: list[PlannedStep] = field(default_factory=list)


def shipped_recipes() -> list[str]:
    """Names of the recipes shipped with the package."""
    folder = resources.files("compress") / "recipes"
    return sorted(item.name[: -len(".toml")] for item in folder.iterdir() if item.name.endswith(".toml"))


def recipe_text(name_or_path: str | Path) -> tuple[str, Path, str]:
    """(TOML text, the folder relative paths start from, a label) of a shipped name or a file."""
    path = Path(name_or_path)
    if path.is_file():
        return path.read_text(), path.parent.resolve(), str(path)
    if str(name_or_path) in shipped_recipes():
        text = (resources.files("compress") / "recipes" / f"{name_or_path}.toml").read_text()
        return text, Path.cwd(), f"recipe {name_or_path}"
    raise UsageError(f"recipe {name_or_path} not found; pass a .toml file or one of {', '.join(shipped_recipes())}")


def load_recipe(
    name_or_path: str | Path, out: Path | None = None, data: Path | None = None, overrides: dict[str, Any] | None = None
) -> Recipe:
    """Parse and check a recipe; ``out``, ``data`` and ``overrides`` (e.g. seed, threads) win over it."""
    text, base, label = recipe_text(name_or_path)
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{label} is not valid TOML ({exc})") from None
    refuse_unknown(table, TOP_KEYS, label)
    steps = table.get("steps")
    if not isinstance(steps, list) or not steps:
        raise UsageError(f"{label} has no [[steps]]")
    synthesize, prepare_table = table.get("synthesize"), table.get("prepare", {})
    for name, config, section in (("synthesize", SynthConfig, synthesize), ("prepare", PrepareConfig, prepare_table)):
        if section is not None:
            refuse_unknown(section, keys(config), f"{label} [{name}]")
    if synthesize is not None and "seed" in (overrides or {}):
        synthesize = {**synthesize, "seed": overrides["seed"]}  # type: ignore[index]
    chosen_data = data or ((base / table["data"]).resolve() if table.get("data") else None)
    if chosen_data is not None and not Path(chosen_data).exists():
        raise UsageError(f"{label}: data {chosen_data} not found")
    if table.get("needs_data") and chosen_data is None:
        raise UsageError(f"{label} trains on real data; pass --data PTBXL_DIR (or its prepared cache)")
    folder = (out or (base / table.get("out", Path(label).stem + "-out"))).resolve()
    recipe = Recipe(label, table.get("description", ""), chosen_data,
                    None if chosen_data is not None or synthesize is None
                    else from_mapping(SynthConfig, synthesize, f"{label} [synthesize]"),
                    from_mapping(PrepareConfig, prepare_table, f"{label} [prepare]"), folder)  # fmt: skip
    defaults = table.get("defaults", {})
    previous: Path | None = None
    if table.get("input"):
        previous = (base / table["input"]).resolve()
        if not previous.is_file():
            raise UsageError(f"{label}: input {table['input']} not found")
    outputs: dict[str, tuple[Path, Step]] = {}
    for index, raw in enumerate(steps, start=1):
        where = f"{label} step {index}"
        if not isinstance(raw, dict):
            raise UsageError(f"{where} is not a table")
        kind = step(raw.get("step"), where)
        name = str(raw.get("name", f"{index}-{kind.kind}"))
        if not NAME.match(name) or name in outputs:
            raise UsageError(f"{where}: name {name!r} must be unique and use letters, digits, '.', '-', '_'")
        where = f"{label} step {index} ({name})"
        own = {k: v for k, v in raw.items() if k not in ("step", "name")}
        refuse_unknown(own, kind.recipe_keys(), where)
        allowed = set(kind.recipe_keys())
        merged = {**{k: v for k, v in defaults.items() if k in allowed}, **own}
        if kind.kind != "benchmark":  # --seed/--threads set training; the benchmark keeps its own threads
            merged.update({k: v for k, v in (overrides or {}).items() if k in allowed})
        inputs = _resolve_inputs(kind, merged, outputs, previous, base, where)
        output = folder / (name + kind.suffix)
        recipe.steps.append(PlannedStep(name, kind, kind.settings_from(merged, where), inputs, output))
        outputs[name] = (output, kind)
        if kind.produces_model():
            previous = output
    return recipe


def _resolve_inputs(
    kind: Step, table: dict[str, Any], outputs: dict[str, tuple[Path, Step]], previous: Path | None, base: Path,
    where: str,
) -> dict[str, Any]:  # fmt: skip
    """Each input slot as a path: an earlier step's output, else a file; defaults per slot."""

    def one(reference: Any, slot: str) -> Path:
        if reference in outputs:
            return outputs[reference][0]
        path = (base / str(reference)).resolve()
        if not path.is_file():
            raise UsageError(f"{where}: {slot} {reference!r} is neither an earlier step nor a file")
        return path

    models = [path for path, made_by in outputs.values() if made_by.produces_model()]
    resolved: dict[str, Any] = {}
    for slot in kind.inputs:
        if slot in table:
            resolved[slot] = one(table[slot], slot)
        elif slot in ("model", "teacher"):
            if previous is None:
                raise UsageError(f"{where} needs '{slot}' (an earlier step's name or a model file)")
            resolved[slot] = previous
        elif slot == "baseline" and models:
            resolved[slot] = models[0]
        elif slot in ("benchmark", "sweep"):
            found = [path for path, made_by in outputs.values() if made_by.kind == slot]
            if found:
                resolved[slot] = found[-1]
            elif slot == "benchmark":
                raise UsageError(f"{where} needs a benchmark step before it")
    for slot in kind.list_inputs:
        if slot in table:
            if not isinstance(table[slot], list):
                raise UsageError(f"{where}: '{slot}' must be a list of step names")
            resolved[slot] = [one(item, slot) for item in table[slot]]
        elif slot == "models":
            resolved[slot] = models
    return resolved


def _hash_of(path: Path) -> str:
    if path.is_file():
        return sha256_file(path)
    if path.is_dir():
        return "folder"
    return "missing"


class StepCache:
    """The one step cache: reuse a step when its key (kind, settings, inputs' hashes) is unchanged
    and its output is intact; every step's key, output hash and wall time are kept in the manifest."""

    def __init__(self, folder: Path, force: bool) -> None:
        self.path = folder / MANIFEST
        self.force = force
        previous = json.loads(self.path.read_text()) if self.path.is_file() else {}
        self.previous: dict[str, Any] = {step["name"]: step for step in previous.get("steps", []) if "name" in step}
        self.records: list[dict[str, Any]] = []
        self.header: dict[str, Any] = {}

    def run(self, name: str, kind: str, settings: dict[str, Any], inputs: dict[str, Any], output: Path,
            action: Any) -> dict[str, Any]:  # fmt: skip
        """Run ``action`` unless reusable; record and save the step either way."""
        flat = {
            slot: [str(p) for p in value] if isinstance(value, list) else str(value) for slot, value in inputs.items()
        }
        hashes = {slot: [_hash_of(p) for p in value] if isinstance(value, list) else _hash_of(value)
                  for slot, value in inputs.items()}  # fmt: skip
        key = hashlib.sha256(json.dumps({"step": kind, "settings": settings, "inputs": hashes}, sort_keys=True,
                                        default=str).encode()).hexdigest()  # fmt: skip
        old = self.previous.get(name)
        record: dict[str, Any] = {"name": name, "step": kind, "key": key, "settings": settings, "inputs": flat,
                  "input_sha256": hashes, "output": str(output)}  # fmt: skip
        if (
            not self.force
            and old
            and old.get("key") == key
            and output.exists()
            and old.get("output_sha256") == _hash_of(output)
        ):
            log(f"[{name}] {kind}: unchanged, reusing {output.name}")
            record.update(reused=True, seconds=old.get("seconds", 0.0))
        else:
            log(f"[{name}] {kind}: running -> {output.name}")
            started = time.perf_counter()
            action()
            record.update(reused=False, seconds=round(time.perf_counter() - started, 1))
        record["output_sha256"] = _hash_of(output)
        self.records.append(record)
        saved = [{k: v for k, v in step.items() if k != "reused"} for step in self.records]  # same file on a rerun
        atomic_write_text(self.path, json.dumps({**self.header, "steps": saved}, indent=2) + "\n")
        return record


def _settings_dict(settings: dict[type, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for config, value in settings.items():
        names = {info.name for info in declared_fields(config)}
        merged.update({k: list(v) if isinstance(v, tuple) else v for k, v in asdict(value).items() if k in names})
    return merged


def prepare_data(recipe: Recipe, cache: StepCache) -> Path | None:
    """The dataset every step uses: given, or the synthetic default generated and prepared (cached)."""
    from runtime.dataset.cache import open_dataset

    if recipe.data is not None:
        return open_dataset(recipe.data, fs=recipe.prepare.fs, split=recipe.prepare.folds).path
    if recipe.synthesize is None:
        return None
    from runtime.dataset.cache import prepare
    from train.synth.generate import write_dataset

    synth, options = recipe.synthesize, recipe.prepare
    synth_dir, cache_dir = recipe.out / "data" / "synthetic-ptbxl", recipe.out / "data" / "cache"
    table = synth_dir / "ptbxl_database.csv"
    cache.run("synthesize", "synthesize", _settings_dict({SynthConfig: synth}), {}, table,
              lambda: write_dataset(synth_dir, records=synth.records, seed=synth.seed, force=True,
                                    acquisition=synth.acquisition, generator=synth.generator))  # fmt: skip
    cache.run("prepare", "prepare", _settings_dict({PrepareConfig: options}), {"database": table},
              cache_dir / "manifest.json",
              lambda: prepare(synth_dir, cache_dir, fs=options.fs, split=options.folds, seed=options.seed,
                              skip_bad=options.skip_bad, force=True))  # fmt: skip
    return cache_dir


def run_recipe(recipe: Recipe, force: bool = False) -> dict[str, Any]:
    """Run every step of ``recipe`` into its folder; return the manifest."""
    recipe.out.mkdir(parents=True, exist_ok=True)
    cache = StepCache(recipe.out, force)
    cache.header = {"recipe": recipe.source, "description": recipe.description}
    data = prepare_data(recipe, cache)
    dataset_inputs = {"data": data / "manifest.json"} if data is not None else {}
    names = {planned.output: planned.name for planned in recipe.steps}
    for planned in recipe.steps:
        settings = _settings_dict(planned.settings)
        run = StepRun(planned.settings, planned.inputs, planned.output, data, recipe.out, names)  # type: ignore[arg-type]
        cache.run(planned.name, planned.kind.kind, settings, {**dataset_inputs, **planned.inputs}, planned.output,
                  lambda run=run, planned=planned: planned.kind.run(run))  # fmt: skip
    return {**cache.header, "folder": str(recipe.out), "steps": cache.records,
            "final": str(recipe.steps[-1].output)}  # fmt: skip


def describe_steps() -> list[tuple[str, str, list[str]]]:
    """(kind, help, keys) of every step: what ``compress recipe --keys`` prints."""
    tables = [("[synthesize]", "Generate the synthetic default when no data is given.", keys(SynthConfig)),
              ("[prepare]", "Read the synthetic folder into a cache.", keys(PrepareConfig))]  # fmt: skip
    return tables + [(kind, item.help, item.recipe_keys()) for kind, item in STEPS.items()]
