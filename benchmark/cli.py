"""``benchmark``: torch-free measurements of ONNX models (runs on a Raspberry Pi)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from benchmark.harness import BenchmarkConfig
from runtime.cli_support import (
    ToolkitGroup,
    data_option,
    force_option,
    json_option,
    model_argument,
    out_option,
    refuse_existing,
    threads_option,
    time_s_option,
)
from runtime.settings import click_options, from_options


@click.group(cls=ToolkitGroup)
def main() -> None:
    """Benchmark ECG models: size, MACs and latency, compared as ratios in one run."""


@main.command()
@model_argument("models", many=True)
@threads_option()
@click.option("--batch", default=1, show_default=True, type=click.IntRange(min=1), help="Batch size.")
@click.option("--warmup-s", default=2.0, show_default=True, type=click.FloatRange(min=0), help="Untimed seconds.")
@time_s_option(10.0)
@data_option("Time on real test records (default: the card's dataset, else seeded noise).")
@click.option("--optimization", default="all", show_default=True, type=click.Choice(["none", "basic", "extended", "all"]),
              help="onnxruntime graph optimization level.")  # fmt: skip
@json_option()
def latency(
    models: tuple[Path, ...], threads: int, batch: int, warmup_s: float, time_s: float, data: Path | None,
    optimization: str, as_json: bool,
) -> None:  # fmt: skip
    """Latency of each MODEL in one run; ratios are relative to the first model."""

    from benchmark.latency import measure_latency
    from runtime.card import has_card, read_card
    from runtime.inspect_model import inspect_model
    from runtime.onnx_io import load_model
    from runtime.session import make_session

    rows = []
    for path in models:
        model = load_model(path)
        card = read_card(model, str(path)) if has_card(model) else None
        records = _model_inputs(model, card, data, max(64, batch))
        inputs = [records[i : i + batch] for i in range(0, len(records) - batch + 1, batch)]
        session = make_session(path, threads=threads, optimization=optimization)
        stats = measure_latency(session, inputs, warmup_s, time_s, label=path.name)
        info = inspect_model(path)
        rows.append({"model": str(path), "bytes": info["bytes"], "parameters": info["parameters"], "macs": info["macs"],
                     "threads": threads, "optimization": optimization, **stats.to_dict()})  # fmt: skip
    base = rows[0]
    for row in rows:
        row["latency_ratio_vs_first"] = row["p50_ms"] / base["p50_ms"]
        row["size_ratio_vs_first"] = row["bytes"] / base["bytes"]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'model':<40} {'bytes':>10} {'MACs':>12} {'p50 ms':>8} {'p90 ms':>8} {'x p50':>7}")
    for row in rows:
        label = f"{Path(row['model']).parent.name}/{Path(row['model']).name}"
        click.echo(f"{label[-40:]:<40} {row['bytes']:>10,} {row['macs']:>12,} {row['p50_ms']:>8.3f} "
                   f"{row['p90_ms']:>8.3f} {row['latency_ratio_vs_first']:>7.3f}")  # fmt: skip


@main.command()
@model_argument("models", many=True)
@data_option("Dataset for AUC and timing records (default: each model's card).")
@click_options(BenchmarkConfig)
@click.option("--baseline", default=None, type=click.Path(path_type=Path), help="Compare every row against this model.")
@out_option("Results JSON to write.")
@click.option("--csv", "csv_path", default=None, type=click.Path(path_type=Path), help="Results CSV to write.")
@click.option(
    "--markdown", "markdown_path", default=None, type=click.Path(path_type=Path), help="Markdown table to write."
)
@click.option("--plots", default=None, type=click.Path(path_type=Path), help="Folder for PNG plots.")
@force_option("Replace existing result files.")
@json_option("Print the results as JSON instead of the table.")
def run(
    models: tuple[Path, ...],
    data: Path | None,
    baseline: Path | None,
    out: Path | None,
    csv_path: Path | None,
    markdown_path: Path | None,
    plots: Path | None,
    force: bool,
    as_json: bool,
    **settings: object,
) -> None:
    """Size, MACs, latency, memory and test AUC of each MODEL (one row per provider/threads/batch)."""
    from benchmark.harness import run_benchmark
    from benchmark.report import table, write_outputs

    config = from_options(BenchmarkConfig, settings)
    for target in (out, csv_path, markdown_path):
        if target is not None:
            refuse_existing(target, force, *models)
    import onnxruntime as ort

    from runtime.errors import ModelError, UsageError

    unknown = [p for p in config.providers if p not in ort.get_available_providers()]
    if unknown:
        raise UsageError(
            f"unknown provider(s) {', '.join(unknown)}; available: {', '.join(ort.get_available_providers())}"
        )
    result = run_benchmark(list(models), data, config, baseline)
    click.echo(json.dumps(result, indent=2, default=str) if as_json else table(result["rows"]))
    written = write_outputs(result, out, csv_path, markdown_path, plots)
    for path in written:
        click.echo(str(path))
    failed = sorted({row["name"] for row in result["rows"] if "error" in row})
    if failed:
        raise ModelError(f"{len(failed)} of {len(models)} model(s) failed ({', '.join(failed)}); see the errors above")


@main.command()
@click.argument("base", type=click.Path(path_type=Path))
@click.argument("new", type=click.Path(path_type=Path))
@click.option("--max-auc-drop", default=None, type=click.FloatRange(min=0))
@click.option("--max-slowdown", default=None, type=click.FloatRange(min=0, min_open=True), help="e.g. 1.2 = 20% slower")
def compare(base: Path, new: Path, max_auc_drop: float | None, max_slowdown: float | None) -> None:
    """Regression gate: exit 3 when NEW is worse than BASE beyond the limits."""
    from benchmark.compare import compare as compare_results
    from benchmark.compare import load_result
    from runtime.errors import GateFailed

    comparisons, violations = compare_results(load_result(base), load_result(new), max_auc_drop, max_slowdown)
    for c in comparisons:
        click.echo(
            f"{c['name']:<32} t{c['threads']} b{c['batch']}  AUC drop {c['auc_drop']:+.4f}  slowdown {c['slowdown']:.3f}x"
        )
    if violations:
        raise GateFailed("; ".join(violations))
    click.echo("ok: within limits")


def _model_inputs(model, card, data: Path | None, records: int):  # type: ignore[no-untyped-def]
    """Real test records (``--data``, else the card's dataset) or seeded noise of the model's shape."""
    from benchmark.inputs import find_dataset, model_inputs

    return model_inputs(model, card, find_dataset(card, data, "model"), records)


@main.command()
@model_argument("models", many=True)
@data_option("Real test records from here (default: the card's dataset, else seeded noise).")
@click.option("--records", default=16, show_default=True, type=click.IntRange(min=1), help="Records compared.")
@time_s_option(1.0, allow_zero=True)
@json_option()
def runtimes(models: tuple[Path, ...], data: Path | None, records: int, time_s: float, as_json: bool) -> None:
    """Load and run each MODEL in every runtime present; agreement with onnxruntime and batch-1 p50 latency."""

    from benchmark.runtimes import check_runtimes
    from runtime.card import has_card, read_card
    from runtime.onnx_io import load_model

    rows = []
    for path in models:
        model = load_model(path)
        card = read_card(model, str(path)) if has_card(model) else None
        rows += check_runtimes(path, _model_inputs(model, card, data, records), time_s)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        detail = (f"max |diff| {row['max_abs_diff']:.2e}  decisions agree {row['decision_agreement']:.3f}"
                  + (f"  p50 {row['p50_ms']:.3f} ms ({row['x_slower_than_fastest']:.1f}x the fastest)"
                     if "p50_ms" in row else "")
                  if row["status"] == "ok" else row.get("error", ""))  # fmt: skip
        click.echo(f"{row['model']:<28.28} {row['runtime']:<15} {row['status']:<13} {detail}")


@main.command()
@model_argument("models", many=True)
@data_option("Time a real test record (default: the card's dataset, else seeded noise).")
@click.option("--calls", default=300, show_default=True, type=click.IntRange(min=10), help="Profiled calls.")
@threads_option()
@click.option("--top", default=8, show_default=True, type=click.IntRange(min=1), help="Op types listed.")
@json_option()
def profile(models: tuple[Path, ...], data: Path | None, calls: int, threads: int, top: int, as_json: bool) -> None:
    """Where each MODEL's batch-1 time goes: kernels by op type, executor and per-call overhead."""
    from benchmark.compute_floor import call_overhead_ms
    from benchmark.profile import profile_model
    from runtime.card import has_card, read_card
    from runtime.onnx_io import load_model

    overhead = call_overhead_ms()
    results = []
    for path in models:
        model = load_model(path)
        card = read_card(model, str(path)) if has_card(model) else None
        results.append(profile_model(path, _model_inputs(model, card, data, 1)[:1], calls, threads))
    if as_json:
        click.echo(json.dumps({"call_overhead_ms": overhead, "models": results}, indent=2))
        return
    click.echo(f"fixed cost of one session call (one-node graph): {overhead * 1000:.0f} us")
    for result in results:
        click.echo(f"\n{Path(result['model']).name}: {result['call_ms'] * 1000:.0f} us per call, "
                   f"{result['nodes_per_call']} nodes; profiled run {result['run_ms'] * 1000:.0f} us = kernels "
                   f"{result['kernels_ms'] * 1000:.0f} us + executor {result['executor_overhead_ms'] * 1000:.0f} us")  # fmt: skip
        for row in result["ops"][:top]:
            click.echo(f"  {row['op']:<22} {row['nodes']:>4} nodes {row['ms_per_call'] * 1000:>8.1f} us")


@main.command("selfcheck")
@model_argument()
@time_s_option(5.0)
@threads_option()
def selfcheck(model: Path, time_s: float, threads: int) -> None:
    """How trustworthy this machine's timings are: p50 spread of two runs, harness overhead."""

    from benchmark.latency import self_check
    from runtime.card import has_card, read_card
    from runtime.onnx_io import load_model
    from runtime.session import make_session

    loaded = load_model(model)
    card = read_card(loaded, str(model)) if has_card(loaded) else None
    x = _model_inputs(loaded, card, None, 16)
    result = self_check(make_session(model, threads=threads), [x[i : i + 1] for i in range(len(x))], time_s)
    click.echo(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
