"""``benchmark``: torch-free measurements of ONNX models (runs on a Raspberry Pi)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from runtime.cli_support import ToolkitGroup


@click.group(cls=ToolkitGroup)
def main() -> None:
    """Benchmark ECG models: size, MACs and latency, compared as ratios in one run."""


@main.command()
@click.argument("models", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1), help="Intra-op threads.")
@click.option("--batch", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--warmup-s", default=2.0, show_default=True, type=click.FloatRange(min=0))
@click.option("--time-s", default=10.0, show_default=True, type=click.FloatRange(min=0, min_open=True))
@click.option(
    "--data", default=None, type=click.Path(path_type=Path), help="Time on real test records (default: seeded noise)."
)
@click.option("--json", "as_json", is_flag=True)
def latency(
    models: tuple[Path, ...], threads: int, batch: int, warmup_s: float, time_s: float, data: Path | None, as_json: bool
) -> None:
    """Latency of each MODEL in one run; ratios are relative to the first model."""
    import numpy as np

    from benchmark.latency import measure_latency
    from compress.inspect_model import inspect_model
    from runtime.card import has_card, read_card
    from runtime.onnx_io import load_model
    from runtime.session import make_session

    rows = []
    for path in models:
        model = load_model(path)
        card = read_card(model, str(path)) if has_card(model) else None
        leads, window = (len(card.leads), card.window) if card else (12, 1000)
        if data is not None and card is not None:
            from runtime.dataset.cache import open_dataset
            from runtime.evaluate import split_inputs

            indices, load = split_inputs(open_dataset(data), "test", card.leads, limit=64)
            records = load(slice(0, len(indices)))
            inputs = [records[i : i + batch] for i in range(0, len(records) - batch + 1, batch)]
        else:
            rng = np.random.default_rng(0)
            inputs = [rng.normal(0, 0.3, (batch, leads, window)).astype(np.float32) for _ in range(16)]
        stats = measure_latency(make_session(path, threads=threads), inputs, warmup_s, time_s, label=path.name)
        info = inspect_model(path)
        rows.append({"model": str(path), "bytes": info["bytes"], "parameters": info["parameters"], "macs": info["macs"],
                     "threads": threads, **stats.to_dict()})  # fmt: skip
    base = rows[0]
    for row in rows:
        row["latency_ratio_vs_first"] = row["p50_ms"] / base["p50_ms"]
        row["size_ratio_vs_first"] = row["bytes"] / base["bytes"]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'model':<40} {'bytes':>10} {'MACs':>12} {'p50 ms':>8} {'p90 ms':>8} {'x p50':>7}")
    for row in rows:
        click.echo(f"{Path(row['model']).name[:40]:<40} {row['bytes']:>10,} {row['macs']:>12,} {row['p50_ms']:>8.3f} "
                   f"{row['p90_ms']:>8.3f} {row['latency_ratio_vs_first']:>7.3f}")  # fmt: skip
