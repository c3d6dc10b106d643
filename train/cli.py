"""``train``: generate the synthetic PTB-XL, prepare datasets, fit, export and sweep models.

Heavy libraries (torch) are imported inside the commands, so ``train --help`` is instant.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from runtime.cli_support import (
    ToolkitGroup,
    data_option,
    force_option,
    json_option,
    out_option,
    print_run_summary,
    threads_option,
)
from runtime.dataset.prepare_config import PrepareConfig
from runtime.settings import click_options, from_options
from train.config import FitConfig, RunSpec, SweepConfig, SynthConfig
from train.synth.fidelity import DISCRIMINATOR_MAX_EPOCHS, DISCRIMINATOR_RUNS


@click.group(cls=ToolkitGroup)
def main() -> None:
    """Train ECG classifiers and export them as self-describing ONNX files."""


@main.command()
@out_option("Folder to create.", required=True)
@click_options(SynthConfig)
@click.option(
    "--fs",
    default="100",
    show_default=True,
    type=click.Choice(["100", "500", "both"]),
    help="Which records folders to write (records100 and/or records500).",
)
@click.option("--workers", default=None, type=click.IntRange(min=1), help="Processes (default: all cores).")
@force_option("Replace an existing folder.")
def synth(out: Path, fs: str, workers: int | None, force: bool, **settings: object) -> None:
    """Write a synthetic PTB-XL folder (WFDB records + CSVs in the real layout)."""
    from train.synth.generate import write_dataset

    config = from_options(SynthConfig, settings)
    info = write_dataset(out, records=config.records, seed=config.seed, fs=fs, workers=workers, force=force,
                         acquisition=config.acquisition, generator=config.generator)  # fmt: skip
    click.echo(json.dumps(info, indent=2))
    click.echo(str(out))


@main.command()
@click.argument("data_dir", type=click.Path(path_type=Path))
@out_option("Cache folder (default: under ECG_SHRINK_CACHE or ~/.cache/ecg-shrink).")
@click_options(PrepareConfig)
@click.option("--workers", default=None, type=click.IntRange(min=1), help="Reader processes (default: all cores).")
@force_option("Rebuild an existing cache.")
@json_option("Print the summary as JSON.")
def prepare(data_dir: Path, out: Path | None, workers: int | None, force: bool, as_json: bool,
            **settings: object) -> None:  # fmt: skip
    """Read a PTB-XL folder (real or synthetic) into a memory-mapped cache and summarize it."""
    from runtime.dataset.cache import MANIFEST, PreparedDataset, default_cache_dir, summary
    from runtime.dataset.cache import prepare as prepare_cache

    config = from_options(PrepareConfig, settings)
    target = out or default_cache_dir(data_dir, config.fs, config.folds, config.seed)
    if (target / MANIFEST).is_file() and not force:
        dataset = PreparedDataset.open(target)
    else:
        dataset = prepare_cache(data_dir, target, fs=config.fs, split=config.folds, seed=config.seed,
                                skip_bad=config.skip_bad, workers=workers, force=True)  # fmt: skip
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


@main.command()
@data_option("PTB-XL folder (real or synthetic) or its prepared cache.", required=True)
@click_options(RunSpec, FitConfig)
@out_option("Run folder (model.onnx, checkpoint.pt, metrics.jsonl, run.json).", required=True)
@click.option("--init", "init_from", default=None, type=click.Path(path_type=Path),
              help="Start from this model's weights (one of our ONNX files or run folders, same --arch/--width/"
              "--leads), e.g. pretrained on the synthetic default.")  # fmt: skip
@click.option("--interpolate", is_flag=True,
              help="With --init: export the weights part of the way back from the fine-tuned ones towards the "
              "start, the fraction chosen on validation (WiSE-FT; helps with few real records).")  # fmt: skip
@click.option("--resume", is_flag=True, help="Continue from the run folder's checkpoint.")
@force_option("Replace a finished run in --out.")
@json_option("Print the run summary as JSON.")
def fit(data: Path, out: Path, init_from: Path | None, interpolate: bool, resume: bool, force: bool,
        as_json: bool, **settings: object) -> None:  # fmt: skip
    """Train a network and export RUN_DIR/model.onnx with its model card."""
    from models.registry import architecture
    from train.fit import run_fit

    spec, config = from_options(RunSpec, settings), from_options(FitConfig, settings)
    architecture(spec.arch)
    summary = run_fit(data, spec, out, config, force=force, resume=resume, init_from=init_from, interpolate=interpolate)
    print_run_summary(summary, as_json)


@main.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--start", default=None, type=click.Path(exists=True, path_type=Path),
              help="Also try the model the runs were fine-tuned from (their --init) as an ingredient.")  # fmt: skip
@data_option("Dataset (default: the one the runs trained on).")
@out_option("Run folder to write (model.onnx, run.json).", required=True)
@threads_option()
@force_option("Replace a finished run in --out.")
@click.option("--if-changed", is_flag=True,
              help="Leave --out as it is if it already holds the soup of these ingredients (the same run folders "
              "and start); cook it again if not.")  # fmt: skip
@json_option("Print the run summary as JSON.")
def soup(runs: tuple[Path, ...], start: Path | None, data: Path | None, out: Path, threads: int | None,
         force: bool, if_changed: bool, as_json: bool) -> None:  # fmt: skip
    """Average the weights of RUNS (fine-tunes of one start on the same records) into one network, greedily:
    each run, best first, is kept only if the average with it validates better."""
    from train.soup import run_soup

    summary = run_soup(list(runs), out, start=start, data=data, threads=threads, force=force, if_changed=if_changed)
    print_run_summary(summary, as_json)


@main.command("export")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@data_option("Dataset (default: the one trained on).")
@out_option("ONNX file to write (default: the run folder's model.onnx).")
@force_option()
def export_command(source: Path, data: Path | None, out: Path | None, force: bool) -> None:
    """Export a run folder's or checkpoint's best weights to ONNX (with measured metrics)."""
    from runtime.cli_support import refuse_existing
    from train.fit import export_checkpoint

    if out is not None:
        refuse_existing(out, force, source)
    summary = export_checkpoint(source, data, out)
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
@data_option("PTB-XL folder (real or synthetic) or its prepared cache.", required=True)
@click_options(SweepConfig, RunSpec, FitConfig, exclude=("width", "leads"))
@out_option("Sweep folder (w<width>/ runs, sweep.csv, sweep.png).", required=True)
@force_option("Retrain widths that already finished.")
def sweep(data: Path, out: Path, force: bool, **settings: object) -> None:
    """Train one family at several widths; write sweep.csv and sweep.png (params vs test AUC)."""
    from models.registry import architecture
    from train.sweep import run_sweep

    widths = from_options(SweepConfig, settings).widths
    spec, config = from_options(RunSpec, settings), from_options(FitConfig, settings)
    architecture(spec.arch)
    rows = run_sweep(data, spec.arch, list(widths), out, config, max_train=spec.max_train, force=force)
    for row in rows:
        click.echo(f"{row['arch']} w={row['width']:<5g} params {row['parameters']:>9,} MACs {row['macs']:>12,} "
                   f"test AUC {row['test_macro_auc']:.4f}", err=True)  # fmt: skip
    click.echo(str(out / "sweep.csv"))


@main.command("synth-report")
@click.option("--real", "real_data", required=True, type=click.Path(path_type=Path),
              help="Real PTB-XL folder or its prepared cache (only its training folds are read).")  # fmt: skip
@click.option("--synthetic", "synthetic_data", required=True, type=click.Path(path_type=Path),
              help="Synthetic PTB-XL folder or its prepared cache ('train synth' output).")  # fmt: skip
@click.option("--records", default=2000, show_default=True, type=click.IntRange(min=50), help="Records of each.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the samples and the discriminator.")
@click.option("--epochs", default=DISCRIMINATOR_MAX_EPOCHS, show_default=True, type=click.IntRange(min=1),
              help="Most epochs of each discriminator (it stops when its validation AUC stalls).")  # fmt: skip
@click.option("--runs", default=DISCRIMINATOR_RUNS, show_default=True, type=click.IntRange(min=1),
              help="Discriminators trained with successive seeds; the report gives the best-validating one's AUC.")  # fmt: skip
@out_option("Report folder (fidelity.json, plots/).", required=True)
@force_option("Replace an existing report.")
def synth_report(real_data: Path, synthetic_data: Path, records: int, seed: int, epochs: int, runs: int,
                 out: Path, force: bool) -> None:  # fmt: skip
    """How close the synthetic default is to real PTB-XL: statistics side by side and a discriminator."""
    from runtime.cli_support import refuse_existing
    from runtime.dataset.cache import open_dataset
    from train.synth.fidelity import fidelity_report

    refuse_existing(out / "fidelity.json", force)
    result = fidelity_report(open_dataset(real_data), open_dataset(synthetic_data), out, records, seed, epochs, runs)
    real, synthetic = result["real"], result["synthetic"]
    bands = ", ".join(f"{name} {value:.4f}" for name, value in result["discriminator_auc_by_band"].items())
    means = ", ".join(f"{name} {value:.4f}" for name, value in result["discriminator_runs_mean"].items())
    click.echo(f"real-vs-synthetic discriminator AUC {result['discriminator_auc']:.4f} (0.5 = indistinguishable; "
               f"by band: {bands}; mean of the runs: {means})", err=True)  # fmt: skip
    for name in ("heart_rate_bpm", "rr_sd_ms", "qrs_axis_deg"):
        click.echo(f"{name:<16} real p50 {real[name].get('p50')}  synthetic p50 {synthetic[name].get('p50')}", err=True)
    click.echo(str(out / "fidelity.json"))


@main.command()
@click.option("--seconds", default=3.0, show_default=True, type=click.FloatRange(min=0.1))
@threads_option(default=2)
@json_option()
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
