"""``train``: generate the synthetic PTB-XL, prepare datasets, fit, export and sweep models.

Heavy libraries (torch) are imported inside the commands, so ``train --help`` is instant.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from runtime.cli_support import ToolkitGroup


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
