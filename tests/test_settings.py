"""Step settings are declared once: CLI options and recipe keys are derived from the typed configs."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import click
import pytest

from benchmark.cli import main as benchmark_main
from compress.cli import main as compress_main
from compress.pipeline import load_recipe
from compress.steps import STEPS
from runtime.dataset.prepare_config import PrepareConfig
from runtime.errors import UsageError
from runtime.settings import declared_fields, option_name
from tests.helpers import assert_one_line_error, run_cli
from train.cli import main as train_main
from train.config import FitConfig, SynthConfig

COMMANDS = {  # command -> the step whose settings it exposes
    (compress_main, "distill"): "distill",
    (compress_main, "prune"): "prune",
    (compress_main, "quantize"): "quantize",
    (train_main, "fit"): "fit",
    (train_main, "sweep"): "sweep",
    (benchmark_main, "run"): "benchmark",
}


def _params(group: click.Group, name: str) -> dict[str, click.Parameter]:
    command = group.commands[name]
    return {param.name: param for param in command.params if param.name}


@pytest.mark.parametrize(("group", "name"), list(COMMANDS))
def test_each_command_exposes_its_steps_settings(group: click.Group, name: str) -> None:
    """Every recipe key of the step (its settings, not its input slots) is an option of the command."""
    step = STEPS[COMMANDS[(group, name)]]
    params = _params(group, name)
    settings = [key for key in step.recipe_keys() if key not in step.inputs + step.list_inputs]
    missing = [key for key in settings if key not in params]
    if name == "prune":  # prune fine-tunes for --finetune-epochs, so it takes no --epochs
        assert "epochs" not in params
    assert not missing, f"{name} lacks {missing}"
    for key in settings:
        assert option_name(key) in params[key].opts[0] or params[key].opts[0].startswith(option_name(key))


@pytest.mark.parametrize(("group", "name"), list(COMMANDS))
def test_no_step_command_lists_a_setting_by_hand(group: click.Group, name: str) -> None:
    """The commands that run a step spell none of its settings in a click.option: they are derived."""
    step = STEPS[COMMANDS[(group, name)]]
    declared = {option_name(info.name) for config in step.configs for info in declared_fields(config)}
    source = inspect.getsource(group.commands[name].callback)  # decorators included
    spelled = set(re.findall(r'click\.option\(\s*"(--[a-z0-9-]+)', source))
    assert not spelled & declared, f"{name} lists {sorted(spelled & declared)}"


@pytest.mark.parametrize(("name", "config"), [("synth", SynthConfig), ("prepare", PrepareConfig)])
def test_data_steps_are_declared_once_too(name: str, config: type) -> None:
    """train synth / prepare take their settings from the same configs as a recipe's [synthesize] / [prepare]."""
    params = _params(train_main, name)
    declared = {info.name for info in declared_fields(config)}
    assert declared <= set(params)
    source = inspect.getsource(train_main.commands[name].callback)
    spelled = set(re.findall(r'click\.option\(\s*"(--[a-z0-9-]+)', source))
    assert not spelled & {option_name(n) for n in declared}


def test_defaults_agree_everywhere() -> None:
    """The old drift (distill defaulted to 20 epochs, fit to 30) cannot come back: one default."""
    fit_epochs = _params(train_main, "fit")["epochs"].default
    assert fit_epochs == _params(compress_main, "distill")["epochs"].default == FitConfig().epochs


def test_recipe_key_errors(tmp_path: Path) -> None:
    recipe = tmp_path / "r.toml"
    recipe.write_text('[[steps]]\nstep = "fit"\narch = "sepresnet"\nepochz = 3\n')
    with pytest.raises(UsageError, match=r"unknown key\(s\) epochz; known: .*epochs"):
        load_recipe(recipe, data=tmp_path)
    recipe.write_text('[[steps]]\nstep = "fit"\narch = "sepresnet"\nepochs = 0\n')
    with pytest.raises(UsageError, match="--epochs must be at least 1, got 0"):
        load_recipe(recipe, data=tmp_path)
    recipe.write_text('[[steps]]\nstep = "fit"\narch = "sepresnet"\nepochs = "three"\n')
    with pytest.raises(UsageError, match="'epochs' must be a whole number"):
        load_recipe(recipe, data=tmp_path)
    recipe.write_text('[[steps]]\nstep = "fit"\nwidth = 1.0\n')
    with pytest.raises(UsageError, match="needs 'arch'"):
        load_recipe(recipe, data=tmp_path)
    recipe.write_text(
        '[synthesize]\nrecords = 100\nacquisition = "film"\n[[steps]]\nstep = "fit"\narch = "sepresnet"\n'
    )
    with pytest.raises(UsageError, match=r"\[synthesize\]: --acquisition must be one of default, ptbxl-filter"):
        load_recipe(recipe)


def test_the_same_rule_on_the_command_line() -> None:
    result = run_cli("train", "fit", "--data", "x", "--arch", "sepresnet", "--epochs", "0", "-o", "r")
    assert result.returncode == 2 and "--epochs" in result.stderr


def test_shipped_recipes_load(tmp_path: Path) -> None:
    for name in ("quick", "full", "tiny"):
        recipe = load_recipe(name, out=tmp_path / name)
        assert recipe.synthesize and recipe.steps[-1].kind.kind == "report"
        outputs = [step.output.name for step in recipe.steps]
        assert len(outputs) == len(set(outputs)) and "teacher.onnx" in outputs
    real = run_cli("compress", "study", "--recipe", "real", "--out", str(tmp_path / "real"))
    assert_one_line_error(real, "pass --data", code=2)
    after_study = tmp_path / "after-study.toml"  # a recipe that starts from a study's files, run before it
    after_study.write_text(
        'input = "study-out/teacher.onnx"\ndata = "study-out/data/cache"\n[[steps]]\nname = "q"\nstep = "quantize"\n'
    )
    result = run_cli("compress", "run", str(after_study), cwd=tmp_path)
    assert_one_line_error(result, "study-out/data/cache not found", code=2)
