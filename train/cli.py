"""``train``: generate the synthetic PTB-XL, prepare datasets, fit, export and sweep models.

Heavy libraries (torch) are imported inside the commands, so ``train --help`` is instant.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from runtime.cli_support import ToolkitGroup
from train.study import PRESETS as STUDY_PRESETS


@click.group(cls=ToolkitGroup)
def main() -> None:
    """Train ECG classifiers and export them as self-describing ONNX files."""


@main.command()
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Folder to create.")
@click.option("--records", default=20000, show_default=True, type=click.IntRange(min=1), help="Number of records.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed: same seed, same bytes.")
@click.option(
    "--fs",
    default="100",
    show_default=True,
    type=click.Choice(["100", "500", "both"]),
    help="Which records folders to write (records100 and/or records500).",
)
@click.option("--workers", default=None, type=click.IntRange(min=1), help="Processes (default: all cores).")
@click.option("--force", is_flag=True, help="Replace an existing folder.")
def synth(out: Path, records: int, seed: int, fs: str, workers: int | None, force: bool) -> None:
    """Write a synthetic PTB-XL folder (WFDB records + CSVs in the real layout)."""
    from train.synth.generate import write_dataset

    info = write_dataset(out, records=records, seed=seed, fs=fs, workers=workers, force=force)
    click.echo(json.dumps(info, indent=2))
    click.echo(str(out))


@main.command()
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option(
    "--out",
    "out",
    type=click.Path(path_type=Path),
    default=None,
    help="Cache folder (default: under ECG_SHRINK_CACHE or ~/.cache/ecg-shrink).",
)
@click.option(
    "--fs", default=100, show_default=True, type=click.Choice(["100", "500"]), callback=lambda c, p, v: int(v)
)
@click.option("--split", default="strat_fold", show_default=True, type=click.Choice(["strat_fold", "iterstrat"]))
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the iterstrat split.")
@click.option("--skip-bad", is_flag=True, help="Drop unreadable records with a warning instead of stopping.")
@click.option("--workers", default=None, type=click.IntRange(min=1), help="Reader processes (default: all cores).")
@click.option("--force", is_flag=True, help="Rebuild an existing cache.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def prepare(
    data_dir: Path,
    out: Path | None,
    fs: int,
    split: str,
    seed: int,
    skip_bad: bool,
    workers: int | None,
    force: bool,
    as_json: bool,
) -> None:
    """Read a PTB-XL folder (real or synthetic) into a memory-mapped cache and summarize it."""
    from runtime.dataset.cache import MANIFEST, PreparedDataset, default_cache_dir, summary
    from runtime.dataset.cache import prepare as prepare_cache

    target = out or default_cache_dir(data_dir, fs, split, seed)
    if (target / MANIFEST).is_file() and not force:
        dataset = PreparedDataset.open(target)
    else:
        dataset = prepare_cache(
            data_dir, target, fs=fs, split=split, seed=seed, skip_bad=skip_bad, workers=workers, force=True
        )
    info = summary(dataset)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"dataset  {info['dataset']} {info['version']}  ({info['source']})")
    click.echo(
        f"records  kept {info['records_kept']} of {info['records_listed']} "
        f"(dropped {info['dropped_no_superclass']} without superclass, {info['skipped_bad']} bad)"
    )
    click.echo(f"fs {info['fs']} Hz, {info['samples']} samples; split {info['split_protocol']}")
    header = "split  records  " + "  ".join(f"{name:>5}" for name in dataset.classes)
    click.echo(header)
    for name, split_info in info["splits"].items():
        counts = "  ".join(f"{split_info['positives'][k]:>5}" for k in dataset.classes)
        click.echo(f"{name:<5}  {split_info['records']:>7}  {counts}")
    click.echo(str(dataset.path))


def _fit_options(func):  # type: ignore[no-untyped-def]
    """Options shared by fit and sweep."""
    options = [
        click.option("--data", "data", required=True, type=click.Path(path_type=Path),
                     help="PTB-XL folder (real or synthetic) or prepared cache."),
        click.option("--epochs", default=30, show_default=True, type=click.IntRange(min=1)),
        click.option("--batch-size", default=64, show_default=True, type=click.IntRange(min=1)),
        click.option("--lr", default=1e-3, show_default=True, type=click.FloatRange(min=0, min_open=True)),
        click.option("--optimizer", default="adamw", show_default=True, type=click.Choice(["adamw", "adadelta"])),
        click.option("--patience", default=5, show_default=True, type=click.IntRange(min=1),
                     help="Epochs without validation-AUC gain before stopping."),
        click.option("--augment/--no-augment", default=False, show_default=True,
                     help="Random shift, amplitude scaling and noise."),
        click.option("--crop", default=0, show_default=True, type=click.IntRange(min=0),
                     help="Train on random windows of this many samples (0: whole records; validation and "
                          "export always use whole records)."),
        click.option("--seed", default=0, show_default=True, type=int),
        click.option("--threads", default=None, type=click.IntRange(min=1), help="torch CPU threads."),
        click.option("--max-train", default=None, type=click.IntRange(min=1),
                     help="Use a seeded subsample of the training split (smoke runs)."),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def _config(
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer: str,
    patience: int,
    augment: bool,
    crop: int,
    seed: int,
    threads: int | None,
):  # type: ignore[no-untyped-def]
    from train.loop import FitConfig

    return FitConfig(epochs=epochs, batch_size=batch_size, lr=lr, optimizer=optimizer, patience=patience,
                     augment=augment, crop=crop, seed=seed, threads=threads)  # fmt: skip


@main.command()
@_fit_options
@click.option("--arch", required=True, help="Architecture name (see 'train archs').")
@click.option("--width", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option("--leads", default=None, help="Input leads, e.g. II or I,II,V2 (default: all 12).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Run folder.")
@click.option("--resume", is_flag=True, help="Continue from the run folder's checkpoint.")
@click.option("--force", is_flag=True, help="Replace a finished run in --out.")
def fit(
    data: Path,
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer: str,
    patience: int,
    augment: bool,
    crop: int,
    seed: int,
    threads: int | None,
    max_train: int | None,
    arch: str,
    width: float,
    leads: str | None,
    out: Path,
    resume: bool,
    force: bool,
) -> None:
    """Train a network and export RUN_DIR/model.onnx with its model card."""
    from models.registry import architecture
    from runtime.leads import STANDARD_LEADS, parse_lead_list
    from train.fit import RunSpec, run_fit

    architecture(arch)
    spec = RunSpec(arch=arch, width=width, leads=parse_lead_list(leads) if leads else STANDARD_LEADS,
                   max_train=max_train)  # fmt: skip
    config = _config(epochs, batch_size, lr, optimizer, patience, augment, crop, seed, threads)
    summary = run_fit(data, spec, out, config, force=force, resume=resume)
    click.echo(json.dumps(summary, indent=2))
    click.echo(summary["model"])


@main.command("export")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--data", default=None, type=click.Path(path_type=Path), help="Dataset (default: the one trained on).")
@click.option("-o", "--output", default=None, type=click.Path(path_type=Path), help="ONNX file to write.")
def export_command(source: Path, data: Path | None, output: Path | None) -> None:
    """Export a run folder's or checkpoint's best weights to ONNX (with measured metrics)."""
    from train.fit import export_checkpoint

    summary = export_checkpoint(source, data, output)
    click.echo(json.dumps(summary, indent=2))
    click.echo(summary["model"])


@main.command()
def archs() -> None:
    """List the registered architectures with their parameter counts at width 1."""
    from models import available, build_model, count_parameters
    from models.registry import ARCHITECTURES

    for name in available():
        click.echo(f"{name:<16} {count_parameters(build_model(name)):>10,}  {ARCHITECTURES[name].description}")


@main.command()
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("--seed", default=0, show_default=True, type=int)
def baseline(data_dir: Path, seed: int) -> None:
    """Test-split metrics of a linear model on simple per-lead features (difficulty reference)."""
    from runtime.dataset.cache import open_dataset
    from train.baseline import linear_baseline

    click.echo(json.dumps(linear_baseline(open_dataset(data_dir), seed), indent=2))


@main.command()
@_fit_options
@click.option("--arch", required=True, help="Architecture family.")
@click.option("--widths", required=True, help="Comma-separated width multipliers, e.g. 0.25,0.5,1,2.")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path), help="Sweep folder.")
@click.option("--force", is_flag=True, help="Retrain widths that already finished.")
def sweep(
    data: Path,
    epochs: int,
    batch_size: int,
    lr: float,
    optimizer: str,
    patience: int,
    augment: bool,
    crop: int,
    seed: int,
    threads: int | None,
    max_train: int | None,
    arch: str,
    widths: str,
    out: Path,
    force: bool,
) -> None:
    """Train one family at several widths; write sweep.csv and sweep.png (params vs test AUC)."""
    from models.registry import architecture
    from runtime.errors import UsageError
    from train.sweep import run_sweep

    architecture(arch)
    try:
        values = [float(w) for w in widths.split(",") if w.strip()]
    except ValueError:
        raise UsageError(f"--widths must be numbers separated by commas, got {widths!r}") from None
    if not values or min(values) <= 0:
        raise UsageError(f"--widths needs positive numbers, got {widths!r}")
    config = _config(epochs, batch_size, lr, optimizer, patience, augment, crop, seed, threads)
    rows = run_sweep(data, arch, values, out, config, max_train=max_train, force=force)
    for row in rows:
        click.echo(f"{row['arch']} w={row['width']:<5g} params {row['parameters']:>9,} MACs {row['macs']:>12,} "
                   f"test AUC {row['test_macro_auc']:.4f}")  # fmt: skip
    click.echo(str(out / "sweep.csv"))


@main.command()
@click.option("--out", "out", default=Path("study-out"), show_default=True, type=click.Path(path_type=Path))
@click.option(
    "--data",
    default=None,
    type=click.Path(path_type=Path),
    help="Real PTB-XL folder or prepared cache (default: generate the synthetic dataset).",
)
@click.option(
    "--preset",
    default="quick",
    show_default=True,
    type=click.Choice(list(STUDY_PRESETS)),
    help="quick: fits 10 minutes on 2 cores; full: the seed's full-size networks (hours); real: real PTB-XL "
    "via --data (under an hour); tiny: smoke test.",
)
@click.option("--seed", default=0, show_default=True, type=int)
@click.option("--threads", default=None, type=click.IntRange(min=1))
@click.option("--force", is_flag=True, help="Redo every step even if its inputs are unchanged.")
def study(out: Path, data: Path | None, preset: str, seed: int, threads: int | None, force: bool) -> None:
    """The whole compression study: train, distill, prune, quantize, benchmark, report."""
    from train.study import preset_by_name, run_study

    report = run_study(out, preset_by_name(preset), data=data, seed=seed, force=force, threads=threads)
    click.echo(f"report: {report}")


@main.command()
@click.option("--seconds", default=3.0, show_default=True, type=click.FloatRange(min=0.1))
@click.option("--threads", default=2, show_default=True, type=click.IntRange(min=1), help="Training threads.")
@click.option("--json", "as_json", is_flag=True)
def throughput(seconds: float, threads: int, as_json: bool) -> None:
    """Training records/s and s/epoch of every architecture, and batch-1 torch eager vs onnxruntime."""
    from train.throughput import measure_all

    rows = measure_all(seconds, threads)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(
        f"{'arch':<16} {'params':>10} {'train rec/s':>11} {'s/epoch*':>9} {'eager ms':>9} {'ort ms':>8} {'ort/eager':>9}"
    )
    for r in rows:
        click.echo(f"{r['arch']:<16} {r['parameters']:>10,} {r['train_records_per_s']:>11.1f} {r['epoch_seconds_default']:>9.1f} "
                   f"{r['torch_eager_ms']:>9.3f} {r['onnxruntime_ms']:>8.3f} {r['onnxruntime_vs_eager']:>9.3f}")  # fmt: skip
    click.echo("* seconds per epoch on the default synthetic training split (15,794 records), batch 64")


if __name__ == "__main__":
    main()
