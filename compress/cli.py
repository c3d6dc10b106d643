"""``compress``: quantize (torch-free), inspect; prune, distill and recipes need torch.

Heavy imports happen inside each command, so ``compress --help`` and ``compress quantize``
work where torch is not installed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from compress.configs import DistillConfig, PruneConfig
from compress.describe import LAYOUTS, OUTPUT_KINDS, UNITS
from compress.quant_config import AccuracyGate, QuantizationConfig
from runtime.cli_support import (
    ToolkitGroup,
    data_option,
    force_option,
    json_option,
    model_argument,
    out_option,
    print_run_summary,
    refuse_existing,
)
from runtime.settings import click_options, declared_fields, from_options
from train.config import FitConfig, RunSpec

# Every setting of a step below comes from its typed config (runtime.settings): none is listed here.
# quantize's CLI leaves the CPU-specific fields to the chosen --preset unless given
QUANTIZE_DEFAULTS = {info.name: None for info in declared_fields(QuantizationConfig)
                     if info.name not in ("preset", "seed", "nodes_to_exclude")}  # fmt: skip


@click.group(cls=ToolkitGroup)
def main() -> None:
    """Compress ECG models: int8 quantization, structured pruning, distillation."""


@main.command()
@model_argument()
@out_option("Default: <stem>.int8.onnx beside MODEL.")
@data_option("Calibration/validation data: PTB-XL folder or cache (default: the model card's).")
@click.option(
    "--calibration",
    default=None,
    type=click.Path(path_type=Path),
    help="A .npy array of model inputs (any task, any rate): calibrate on it and report fp32-vs-int8 agreement "
    "instead of AUC.",
)
@click_options(QuantizationConfig, AccuracyGate, defaults=QUANTIZE_DEFAULTS)
@click.option("--report", is_flag=True, help="Print the per-node sensitivity (SQNR) report.")
@force_option()
@json_option("Print the measurements as JSON.")
def quantize(model: Path, out: Path | None, data: Path | None, calibration: Path | None, report: bool, force: bool,
             as_json: bool, **settings: object) -> None:  # fmt: skip
    """Static int8 quantization (QDQ) of MODEL, verified on the validation split."""
    from compress.quantize import NothingToQuantize, default_output, quantize_model

    config = from_options(QuantizationConfig, settings)
    max_auc_drop = from_options(AccuracyGate, settings).max_auc_drop
    target = out or default_output(model)
    refuse_existing(target, force, model)
    if calibration is not None:
        _quantize_with_inputs(model, target, calibration, config, data, max_auc_drop, report, as_json)
        return
    try:
        result = quantize_model(model, target, data, config, max_auc_drop=max_auc_drop, report=report)
    except NothingToQuantize as exc:
        click.echo(f"warning: {exc}", err=True)
        return
    measured = result.measured
    if as_json:
        click.echo(json.dumps({"measured": measured, "sensitivity": result.sensitivity}, indent=2))
    else:
        for split in ("val", "test"):
            m = measured[split]
            click.echo(f"{split:<4} macro AUC fp32 {m['fp32_macro_auc']:.4f} -> int8 {m['int8_macro_auc']:.4f} "
                       f"({m['delta_macro_auc']:+.4f})")  # fmt: skip
        click.echo(f"bytes {measured['bytes_fp32']:,} -> {measured['bytes_int8']:,} ({measured['size_ratio']:.2f}x smaller); "
                   f"QuantizeLinear {measured['quantize_linear']}, DequantizeLinear {measured['dequantize_linear']}")  # fmt: skip
        if report:
            click.echo("sensitivity (lowest SQNR first):")
            for row in result.sensitivity:
                click.echo(f"  {row['sqnr_db']:>7.2f} dB  {row['op']:<6} {row['node']}")
        if measured.get("kept_in_float"):
            click.echo(f"kept in float: {', '.join(measured['kept_in_float'])}")
    click.echo(str(result.output))


def _quantize_with_inputs(
    model: Path, output: Path, calibration: Path, config: Any, data: Path | None,
    max_auc_drop: float | None, report: bool, as_json: bool,
) -> None:  # fmt: skip
    from compress.quantize import NothingToQuantize
    from compress.quantize_inputs import quantize_with_inputs
    from runtime.errors import UsageError

    clashing = [name for name, value in (("--data", data), ("--max-auc-drop", max_auc_drop), ("--report", report))
                if value]  # fmt: skip
    if clashing:
        raise UsageError(f"--calibration measures agreement, not AUC; drop {', '.join(clashing)}")
    try:
        result = quantize_with_inputs(model, output, calibration, config)
    except NothingToQuantize as exc:
        click.echo(f"warning: {exc}", err=True)
        return
    measured = result.measured
    if as_json:
        click.echo(json.dumps({"measured": measured}, indent=2))
    else:
        click.echo(f"fp32 vs int8 on {measured['checked_inputs']} {measured['checked_on']}:")
        for name, m in measured["agreement"].items():
            click.echo(f"  {name}: max |diff| {m['max_abs_diff']:.4g}, mean |diff| {m['mean_abs_diff']:.4g}, "
                       f"SQNR {m['sqnr_db']} dB, decisions agree {m['decision_agreement'] * 100:.1f}%")  # fmt: skip
        click.echo(
            f"bytes {measured['bytes_fp32']:,} -> {measured['bytes_int8']:,} ({measured['size_ratio']:.2f}x smaller)"
        )
    click.echo(str(result.output))


@main.command("inspect")
@model_argument()
@json_option("Print everything as JSON.")
def inspect_command(model: Path, as_json: bool) -> None:
    """Op counts (Q/DQ included), parameters, MACs, bytes, model card and lineage of MODEL."""
    from runtime.inspect_model import inspect_model

    info = inspect_model(model)
    if as_json:
        click.echo(json.dumps(info, indent=2, default=str))
        return
    click.echo(f"file        {info['file']} ({info['bytes']:,} bytes, sha256 {info['sha256'][:16]})")
    click.echo(f"inputs      {info['inputs']}  outputs {[o['name'] for o in info['outputs']]}")
    click.echo(f"parameters  {info['parameters']:,}   MACs {info['macs']:,}   nodes {info['nodes']}")
    click.echo(f"Q/DQ        {info['quantize_linear']} / {info['dequantize_linear']}")
    click.echo("ops         " + ", ".join(f"{k} {v}" for k, v in info["ops"].items()))
    card = info["card"]
    if card:
        click.echo(f"card        {card['architecture'].get('name')} classes {card['classes']} fs {card['fs']} "
                   f"leads {len(card['leads'])} window {card['window']}")  # fmt: skip
        for split, metrics in card["metrics"].items():
            click.echo(f"metrics     {split}: macro AUC {metrics['macro_auc']:.4f}")
        click.echo("lineage     " + (" | ".join(info["lineage"]) or "none (trained here)"))
    else:
        click.echo("card        none (not written by this toolkit)")


@main.command()
@click.option("--teacher", required=True, type=click.Path(path_type=Path), help="Teacher ONNX file (ours).")
@click_options(RunSpec, defaults={"leads": None})
@click_options(DistillConfig, FitConfig)
@data_option()
@out_option("Student ONNX file to write (training files go to <out>.run/).", required=True)
@force_option()
@json_option("Print the run summary as JSON.")
def distill(teacher: Path, data: Path | None, out: Path, force: bool, as_json: bool, **settings: object) -> None:
    """Knowledge distillation from an ONNX teacher into a (smaller or reduced-lead) student.

    --leads defaults to the teacher's leads."""
    from compress.distill import distill as run_distill
    from compress.distill import teacher_leads
    from models.registry import architecture

    refuse_existing(out, force, teacher)
    spec = from_options(RunSpec, settings, defaults={"leads": teacher_leads(teacher)})
    architecture(spec.arch)
    kd, fit_config = from_options(DistillConfig, settings), from_options(FitConfig, settings)
    summary = run_distill(teacher, spec, out, fit_config, kd, data=data, force=True)
    print_run_summary(summary, as_json)


@main.command()
@model_argument()
@click_options(PruneConfig, DistillConfig)
@click_options(FitConfig, exclude=("epochs",))
@click_options(RunSpec, exclude=("arch", "width", "leads"))
@data_option()
@out_option("Default: <stem>.pruned.onnx beside MODEL (training files go to <out>.run/).")
@force_option()
@json_option("Print the run summary as JSON.")
def prune(model: Path, data: Path | None, out: Path | None, force: bool, as_json: bool, **settings: object) -> None:
    """Structured pruning (channels really removed) with fine-tuning from the unpruned model."""
    from compress.prune import prune as run_prune

    config, kd = from_options(PruneConfig, settings), from_options(DistillConfig, settings)
    fit_config = from_options(FitConfig, settings)
    max_train = from_options(RunSpec, settings, defaults={"arch": "unused"}).max_train
    target = out or model.with_name(f"{model.stem}.pruned.onnx")
    refuse_existing(target, force, model)
    summary = run_prune(model, target, config, fit_config, data, force=True, max_train=max_train, kd=kd)
    print_run_summary(summary, as_json)


def _recipe_run_options(func: Any) -> Any:
    """The options of every command that runs a recipe (``compress run``, ``compress study``)."""
    options = [
        out_option("Output folder (default: the recipe's 'out')."),
        data_option("Dataset for every step: PTB-XL folder or cache (default: the recipe's 'data' or its "
                    "[synthesize] table; the real recipe needs it)."),
        click.option("--seed", default=None, type=int,
                     help="Seed for every step and the synthetic data (default: the recipe's)."),
        click.option("--threads", default=None, type=click.IntRange(min=1), help="Training threads for every step."),
        force_option("Redo every step even if its inputs and settings are unchanged."),
        json_option("Print the manifest as JSON."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


@main.command("run")
@click.argument("recipe")
@_recipe_run_options
def run_command(recipe: str, **options: Any) -> None:
    """Run a recipe: a TOML file, or a shipped one by name (see 'compress recipe')."""
    _run(recipe, **options)


@main.command()
@click.option("--recipe", "recipe", default="quick", show_default=True,
              help="A shipped recipe by name (see 'compress recipe') or a TOML file.")  # fmt: skip
@_recipe_run_options
def study(recipe: str, **options: Any) -> None:
    """The whole compression study: train, distill, prune, quantize, benchmark, report (= 'compress run quick')."""
    _run(recipe, **options)


def _run(recipe: str, out: Path | None, data: Path | None, seed: int | None, threads: int | None, force: bool,
         as_json: bool) -> None:  # fmt: skip
    from compress.pipeline import load_recipe, run_recipe

    overrides = {key: value for key, value in (("seed", seed), ("threads", threads)) if value is not None}
    result = run_recipe(load_recipe(recipe, out=out, data=data, overrides=overrides), force=force)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    for step in result["steps"]:
        click.echo(f"{step['name']:<24} {step['step']:<10} {'reused' if step['reused'] else 'ran':<6} "
                   f"{step['seconds']:>7.1f} s  {step['output']}", err=True)  # fmt: skip
    final = Path(result["final"])
    click.echo(f"report: {final}" if final.suffix == ".md" else str(final))


@main.command()
@click.argument("name", required=False)
@click.option("--keys", "show_keys", is_flag=True, help="List every step kind and the keys it takes.")
def recipe(name: str | None, show_keys: bool) -> None:
    """List the shipped recipes, print one (to copy and edit), or list the step keys."""
    from compress.pipeline import describe_steps, recipe_text, shipped_recipes

    if show_keys:
        for kind, text, keys in describe_steps():
            click.echo(f"{kind:<10} {text}\n           keys: {', '.join(keys)}")
        return
    if name is None:
        for shipped in shipped_recipes():
            first = recipe_text(shipped)[0].splitlines()[0].lstrip("# ")
            click.echo(f"{shipped:<7} {first}")
        return
    click.echo(recipe_text(name)[0], nl=False)


@main.command()
@model_argument()
@click.option("--fs", type=click.FloatRange(min=0, min_open=True), default=None, help="Sampling rate in Hz.")
@click.option("--leads", default=None, help="Lead names in input order (default for 12 leads: I ... V6).")
@click.option("--classes", default=None, help="Output names in order, e.g. NORM,MI,STTC,CD,HYP.")
@click.option("--layout", default=None, type=click.Choice(LAYOUTS), help="Input layout (default: from its shape).")
@click.option("--units", default="mV", show_default=True, type=click.Choice(list(UNITS)), help="Input units.")
@click.option("--output-kind", default=None, type=click.Choice(OUTPUT_KINDS), help="Default: from the last op.")
@click.option("--window", default=None, type=click.IntRange(min=1), help="Samples per input (dynamic time axes).")
@click.option("--wrap/--no-wrap", default=True, show_default=True,
              help="Add our input/output contract around the graph ('ecg' in mV -> probabilities, logits).")  # fmt: skip
@out_option("Default: <stem>.described.onnx")
@force_option()
def describe(
    model: Path, fs: float | None, leads: str | None, classes: str | None, layout: str | None, units: str,
    output_kind: str | None, window: int | None, wrap: bool, out: Path | None, force: bool,
) -> None:  # fmt: skip
    """Give a foreign ECG model (Keras, PyTorch, any exporter) our model card and input/output contract."""
    from compress.describe import describe_model

    target = out or model.with_name(f"{model.stem}.described.onnx")
    refuse_existing(target, force, model)
    options = {"fs": fs, "leads": leads, "classes": classes, "layout": layout, "units": units,
               "output_kind": output_kind, "window": window}  # fmt: skip
    card, description = describe_model(model, target, options, wrap_graph=wrap)
    click.echo(f"{model.name}: {description.layout} input, {len(card.leads)} lead(s) {','.join(card.leads)}, "
               f"{card.window} samples at {card.fs:g} Hz in {description.units}, {description.output_kind} output "
               f"({', '.join(card.classes)}), batch {'1 (fixed)' if description.fixed_batch else 'dynamic'}",
               err=True)  # fmt: skip
    click.echo(str(target))


@main.command()
@model_argument()
@click.option("--benchmark", "benchmark_json", required=True, type=click.Path(path_type=Path),
              help="JSON written by 'benchmark run MODEL ... -o FILE' (the row of MODEL is used).")  # fmt: skip
@click.option("--licence", default=None, help="Licence line for the card (default: PTB-XL's attribution).")
@out_option("Published copy to write.", required=True)
@force_option()
def publish(model: Path, benchmark_json: Path, licence: str | None, out: Path, force: bool) -> None:
    """Copy MODEL with its measured benchmark figures and licence in the card, without local paths."""
    from compress.publish import load_benchmark
    from compress.publish import publish as publish_model
    from runtime.pretrained import ATTRIBUTION

    refuse_existing(out, force, model)
    metrics = publish_model(model, out, load_benchmark(benchmark_json), licence or ATTRIBUTION)
    click.echo(f"{out.name}: test macro AUC {metrics['macro_auc']:.4f} "
               f"[{metrics['macro_auc_low']:.4f}, {metrics['macro_auc_high']:.4f}]", err=True)  # fmt: skip
    click.echo(str(out))


@main.command()
@model_argument()
@out_option("Default: <stem>.conv2d.onnx")
@force_option()
def conv2d(model: Path, out: Path | None, force: bool) -> None:
    """Rewrite 1-D convolutions/pooling as 2-D (height 1) for 2-D-only providers and NPUs."""
    from compress.conv2d import convert

    target = out or model.with_name(f"{model.stem}.conv2d.onnx")
    refuse_existing(target, force, model)
    click.echo(str(convert(model, target)))


if __name__ == "__main__":
    main()
