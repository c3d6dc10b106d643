"""``compress``: quantize (torch-free), inspect; prune, distill and recipes need torch.

Heavy imports happen inside each command, so ``compress --help`` and ``compress quantize``
work where torch is not installed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from compress.describe import LAYOUTS, OUTPUT_KINDS, UNITS
from runtime.cli_support import ToolkitGroup


@click.group(cls=ToolkitGroup)
def main() -> None:
    """Compress ECG models: int8 quantization, structured pruning, distillation."""


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option(
    "-o", "--output", default=None, type=click.Path(path_type=Path), help="Default: <stem>.int8.onnx beside MODEL."
)
@click.option(
    "--data",
    default=None,
    type=click.Path(path_type=Path),
    help="Calibration/validation data (default: from the model card).",
)
@click.option(
    "--calibration",
    default=None,
    type=click.Path(path_type=Path),
    help="A .npy array of model inputs (any task, any rate): calibrate on it and report fp32-vs-int8 agreement "
    "instead of AUC.",
)
@click.option(
    "--preset",
    default="auto",
    show_default=True,
    type=click.Choice(["auto", "x86-vnni", "avx2", "arm64"]),
    help="Target CPU; auto = this machine's (x86 VNNI, x86 AVX2 or ARM64).",
)
@click.option(
    "--calib-samples", default=None, type=click.IntRange(min=1), help="Training records for calibration [512]."
)
@click.option("--calibrate-method", default=None, type=click.Choice(["minmax", "entropy", "percentile"]),
              help="Activation ranges from calibration [percentile].")  # fmt: skip
@click.option(
    "--per-channel/--per-tensor", default=None, help="Weight scales per output channel (preset default: per-channel)."
)
@click.option("--activations", default=None, type=click.Choice(["int8", "uint8"]))
@click.option("--nodes-to-exclude", multiple=True, help="Node names to keep in float (repeatable).")
@click.option(
    "--max-auc-drop",
    default=None,
    type=click.FloatRange(min=0),
    help="Keep sensitive nodes in float until the validation AUC drop is at most this.",
)
@click.option("--report", is_flag=True, help="Print the per-node sensitivity (SQNR) report.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the calibration sample.")
@click.option("--json", "as_json", is_flag=True, help="Print the measurements as JSON.")
def quantize(
    model: Path,
    output: Path | None,
    data: Path | None,
    calibration: Path | None,
    preset: str,
    calib_samples: int | None,
    calibrate_method: str | None,
    per_channel: bool | None,
    activations: str | None,
    nodes_to_exclude: tuple[str, ...],
    max_auc_drop: float | None,
    report: bool,
    seed: int,
    as_json: bool,
) -> None:
    """Static int8 quantization (QDQ) of MODEL, verified on the validation split."""
    from compress.quant_config import preset as preset_config
    from compress.quantize import NothingToQuantize, quantize_model

    changes: dict[str, object] = {"seed": seed}
    for key, value in (("calib_samples", calib_samples), ("calibrate_method", calibrate_method),
                       ("per_channel", per_channel), ("activations", activations)):  # fmt: skip
        if value is not None:
            changes[key] = value
    if nodes_to_exclude:
        changes["nodes_to_exclude"] = tuple(nodes_to_exclude)
    config = preset_config(preset).with_changes(**changes)
    if calibration is not None:
        _quantize_with_inputs(model, output, calibration, config, data, max_auc_drop, report, as_json)
        return
    try:
        result = quantize_model(model, output, data, config, max_auc_drop=max_auc_drop, report=report)
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
    model: Path, output: Path | None, calibration: Path, config: Any, data: Path | None,
    max_auc_drop: float | None, report: bool, as_json: bool,
) -> None:  # fmt: skip
    from compress.quantize import NothingToQuantize, default_output
    from compress.quantize_inputs import quantize_with_inputs
    from runtime.errors import UsageError

    clashing = [name for name, value in (("--data", data), ("--max-auc-drop", max_auc_drop), ("--report", report))
                if value]  # fmt: skip
    if clashing:
        raise UsageError(f"--calibration measures agreement, not AUC; drop {', '.join(clashing)}")
    try:
        result = quantize_with_inputs(model, output or default_output(model), calibration, config)
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
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
def inspect_command(model: Path, as_json: bool) -> None:
    """Op counts (Q/DQ included), parameters, MACs, bytes, model card and lineage of MODEL."""
    from compress.inspect_model import inspect_model

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


def _training_options(func):  # type: ignore[no-untyped-def]
    options = [
        click.option("--data", default=None, type=click.Path(path_type=Path), help="Dataset (default: from the model card)."),
        click.option("--epochs", default=20, show_default=True, type=click.IntRange(min=1)),
        click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1)),
        click.option("--lr", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True)),
        click.option("--patience", default=5, show_default=True, type=click.IntRange(min=1)),
        click.option("--crop", default=0, show_default=True, type=click.IntRange(min=0),
                     help="Train on random windows of this many samples (0: whole records)."),
        click.option("--seed", default=0, show_default=True, type=int),
        click.option("--threads", default=None, type=click.IntRange(min=1)),
        click.option("--max-train", default=None, type=click.IntRange(min=1), help="Seeded subsample of the training split."),
        click.option("--force", is_flag=True, help="Replace an existing output."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def _fit_config(epochs: int, batch_size: int, lr: float, patience: int, crop: int, seed: int, threads: int | None):  # type: ignore[no-untyped-def]
    from train.loop import FitConfig

    return FitConfig(epochs=epochs, batch_size=batch_size, lr=lr, patience=patience, crop=crop, seed=seed,
                     threads=threads)  # fmt: skip


def _refuse_existing(output: Path, force: bool, *inputs: Path) -> None:
    from runtime.atomic import refuse_overwrite
    from runtime.errors import UsageError

    refuse_overwrite(output, *inputs)
    if output.exists() and not force:
        raise UsageError(f"{output} already exists; pass --force to replace it or choose another -o")


@main.command()
@click.option("--teacher", required=True, type=click.Path(path_type=Path), help="Teacher ONNX file (ours).")
@click.option("--arch", required=True, help="Student architecture.")
@click.option("--width", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--leads", default=None, help="Student input leads, e.g. II (default: the teacher's).")
@click.option("--temperature", default=4.0, show_default=True, type=float)
@click.option("--alpha", default=0.5, show_default=True, type=float, help="Weight of the soft (teacher) term.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path))
@_training_options
def distill(
    teacher: Path,
    arch: str,
    width: float,
    leads: str | None,
    temperature: float,
    alpha: float,
    output: Path,
    data: Path | None,
    epochs: int,
    batch_size: int,
    lr: float,
    patience: int,
    crop: int,
    seed: int,
    threads: int | None,
    max_train: int | None,
    force: bool,
) -> None:
    """Knowledge distillation from an ONNX teacher into a (smaller or reduced-lead) student."""
    from compress.distill import DistillConfig
    from compress.distill import distill as run_distill
    from models.registry import architecture
    from runtime.card import has_card, read_card
    from runtime.leads import parse_lead_list
    from runtime.onnx_io import load_model
    from train.fit import RunSpec

    architecture(arch)
    kd = DistillConfig(temperature=temperature, alpha=alpha)
    _refuse_existing(output, force, teacher)
    teacher_model = load_model(teacher)
    teacher_leads = read_card(teacher_model, str(teacher)).leads if has_card(teacher_model) else None
    chosen = parse_lead_list(leads) if leads else tuple(teacher_leads or ())
    spec = RunSpec(arch=arch, width=width, leads=chosen or tuple(), max_train=max_train)
    summary = run_distill(teacher, spec, output, _fit_config(epochs, batch_size, lr, patience, crop, seed, threads), kd,
                          data=data, force=True)  # fmt: skip
    click.echo(json.dumps(summary, indent=2))
    click.echo(summary["model"])


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--pruning-ratio", required=True, type=float, help="Fraction of channels to remove, in (0, 1).")
@click.option("--importance", default="l1", show_default=True, type=click.Choice(["l1", "l2", "taylor"]))
@click.option("--iterative-steps", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--round-to", default=8, show_default=True, type=click.IntRange(min=1))
@click.option("--finetune-epochs", default=5, show_default=True, type=click.IntRange(min=0))
@click.option("-o", "--output", default=None, type=click.Path(path_type=Path), help="Default: <stem>.pruned.onnx")
@_training_options
def prune(
    model: Path,
    pruning_ratio: float,
    importance: str,
    iterative_steps: int,
    round_to: int,
    finetune_epochs: int,
    output: Path | None,
    data: Path | None,
    epochs: int,
    batch_size: int,
    lr: float,
    patience: int,
    crop: int,
    seed: int,
    threads: int | None,
    max_train: int | None,
    force: bool,
) -> None:
    """Structured pruning (channels really removed) with fine-tuning from the unpruned model."""
    from compress.prune import PruneConfig
    from compress.prune import prune as run_prune

    config = PruneConfig(pruning_ratio=pruning_ratio, importance=importance, iterative_steps=iterative_steps,
                         round_to=round_to, finetune_epochs=finetune_epochs)  # fmt: skip
    target = output or model.with_name(f"{model.stem}.pruned.onnx")
    _refuse_existing(target, force, model)
    summary = run_prune(model, target, config, _fit_config(epochs, batch_size, lr, patience, crop, seed, threads), data,
                        force=True, max_train=max_train)  # fmt: skip
    click.echo(json.dumps(summary, indent=2))
    click.echo(summary["model"])


@main.command("run")
@click.argument("recipe", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Redo every step even if unchanged.")
def run_command(recipe: Path, force: bool) -> None:
    """Run a chain of steps from a TOML recipe (see compress/recipe.py for the format)."""
    from compress.recipe import run_recipe

    result = run_recipe(recipe, force=force)
    for step in result["steps"]:
        click.echo(f"{step['index']}. {step['step']:<9} {'reused' if step['reused'] else 'ran':<6} {step['output']}")
    click.echo(result["final"])


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--fs", type=click.FloatRange(min=0, min_open=True), default=None, help="Sampling rate in Hz.")
@click.option("--leads", default=None, help="Lead names in input order (default for 12 leads: I ... V6).")
@click.option("--classes", default=None, help="Output names in order, e.g. NORM,MI,STTC,CD,HYP.")
@click.option("--layout", default=None, type=click.Choice(LAYOUTS), help="Input layout (default: from its shape).")
@click.option("--units", default="mV", show_default=True, type=click.Choice(list(UNITS)), help="Input units.")
@click.option("--output-kind", default=None, type=click.Choice(OUTPUT_KINDS), help="Default: from the last op.")
@click.option("--window", default=None, type=click.IntRange(min=1), help="Samples per input (dynamic time axes).")
@click.option("--wrap/--no-wrap", default=True, show_default=True,
              help="Add our input/output contract around the graph ('ecg' in mV -> probabilities, logits).")  # fmt: skip
@click.option("-o", "--output", default=None, type=click.Path(path_type=Path), help="Default: <stem>.described.onnx")
@click.option("--force", is_flag=True, help="Replace an existing output.")
def describe(
    model: Path, fs: float | None, leads: str | None, classes: str | None, layout: str | None, units: str,
    output_kind: str | None, window: int | None, wrap: bool, output: Path | None, force: bool,
) -> None:  # fmt: skip
    """Give a foreign ECG model (Keras, PyTorch, any exporter) our model card and input/output contract."""
    from compress.describe import describe_model

    target = output or model.with_name(f"{model.stem}.described.onnx")
    _refuse_existing(target, force, model)
    options = {"fs": fs, "leads": leads, "classes": classes, "layout": layout, "units": units,
               "output_kind": output_kind, "window": window}  # fmt: skip
    card, description = describe_model(model, target, options, wrap_graph=wrap)
    click.echo(f"{model.name}: {description.layout} input, {len(card.leads)} lead(s) {','.join(card.leads)}, "
               f"{card.window} samples at {card.fs:g} Hz in {description.units}, {description.output_kind} output "
               f"({', '.join(card.classes)}), batch {'1 (fixed)' if description.fixed_batch else 'dynamic'}",
               err=True)  # fmt: skip
    click.echo(str(target))


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--benchmark", "benchmark_json", required=True, type=click.Path(path_type=Path),
              help="JSON written by 'benchmark run MODEL ... -o FILE' (the row of MODEL is used).")  # fmt: skip
@click.option("--licence", default=None, help="Licence line for the card (default: PTB-XL's attribution).")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Published copy to write.")
@click.option("--force", is_flag=True, help="Replace an existing output.")
def publish(model: Path, benchmark_json: Path, licence: str | None, output: Path, force: bool) -> None:
    """Copy MODEL with its measured benchmark figures and licence in the card, without local paths."""
    from compress.publish import load_benchmark
    from compress.publish import publish as publish_model
    from runtime.pretrained import ATTRIBUTION

    _refuse_existing(output, force, model)
    metrics = publish_model(model, output, load_benchmark(benchmark_json), licence or ATTRIBUTION)
    click.echo(f"{output.name}: test macro AUC {metrics['macro_auc']:.4f} "
               f"[{metrics['macro_auc_low']:.4f}, {metrics['macro_auc_high']:.4f}]", err=True)  # fmt: skip
    click.echo(str(output))


@main.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("-o", "--output", default=None, type=click.Path(path_type=Path), help="Default: <stem>.conv2d.onnx")
def conv2d(model: Path, output: Path | None) -> None:
    """Rewrite 1-D convolutions/pooling as 2-D (height 1) for 2-D-only providers and NPUs."""
    from compress.conv2d import convert

    click.echo(str(convert(model, output or model.with_name(f"{model.stem}.conv2d.onnx"))))


if __name__ == "__main__":
    main()
