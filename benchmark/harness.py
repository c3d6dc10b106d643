"""``benchmark run``: one row per (model, provider, threads, batch) of size, speed and accuracy.

Accuracy (macro / per-class AUC with a bootstrap 90% interval, Fmax, F1 at the card's
thresholds) is computed once per model on the test split; latency is measured per
configuration on rotating real test records.  A failure on one model is reported in its
row and the others still run.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.compute_floor import call_overhead_ms, is_int8, peak_macs_per_s
from benchmark.environment import environment
from benchmark.inputs import declared_shape, find_dataset, model_inputs
from benchmark.latency import measure_latency
from benchmark.memory import peak_mb, reset_peak
from benchmark.rows import BenchmarkRow
from runtime.card import ModelCard, has_card, read_card
from runtime.dataset.cache import PreparedDataset
from runtime.errors import ToolkitError, UsageError
from runtime.evaluate import check_compatible, split_scores
from runtime.graph_stats import graph_summary
from runtime.metrics import bootstrap_macro_auc, bootstrap_macro_auc_difference, evaluation
from runtime.onnx_io import load_model, sha256_file
from runtime.progress import log
from runtime.session import fixed_batch, make_session
from runtime.settings import check_settings, setting


@dataclass(frozen=True)
class BenchmarkConfig:
    """How to measure (one row per provider x threads x batch)."""

    split: str = setting("test", "Split scored for AUC.", choices=("train", "val", "test"))
    providers: tuple[str, ...] = setting(("CPUExecutionProvider",), "onnxruntime execution providers.")
    threads: tuple[int, ...] = setting((1,), "Intra-op thread counts, e.g. 1,2,4.", minimum=1)
    batch: tuple[int, ...] = setting((1,), "Batch sizes, e.g. 1,32.", minimum=1)
    warmup_s: float = setting(2.0, "Untimed warm-up seconds per row.", minimum=0)
    time_s: float = setting(10.0, "Timed seconds per row.", minimum=0, open_minimum=True)
    bootstrap: int = setting(200, "Bootstrap rounds for the AUC intervals (0: none).", minimum=0)
    latency_records: int = setting(64, "Records cycled through for timing.", minimum=1)
    floor: bool = setting(True, "Probe the CPU's fp32/int8 peak (the floor each row is compared with).")

    def __post_init__(self) -> None:
        check_settings(self)
        if not self.threads or not self.batch or not self.providers:
            raise UsageError("--threads, --batch and --providers need at least one value")


NO_AUC_NOTE = "AUC needs a model card and test data ('compress describe MODEL', then --data DIR)"


def _accuracy(path: Path, card: ModelCard, dataset: PreparedDataset, config: BenchmarkConfig) -> dict[str, Any]:
    labels, scores = split_scores(make_session(path), dataset, config.split, card.leads)
    result = evaluation(labels, scores, card.classes, card.thresholds)
    low, high = bootstrap_macro_auc(labels, scores, rounds=config.bootstrap)
    result.update({"macro_auc_low": low, "macro_auc_high": high, "labels": labels, "scores": scores})
    return result


def _latency_inputs(inputs: np.ndarray, batch: int) -> list[np.ndarray]:
    """``inputs`` cut into batches of ``batch`` (rotated over by the timing loop)."""
    count = max(1, len(inputs) // batch)
    return [np.ascontiguousarray(inputs[i * batch : (i + 1) * batch]) for i in range(count)]


def display_labels(paths: list[Path]) -> dict[Path, str]:
    """A label per file that is unique in one table: the file name without ``.onnx``, prefixed with
    its folder where names repeat (``teacher/model``), numbered as a last resort."""
    names = {path: path.name.removesuffix(".onnx") for path in paths}
    repeated = {name for name in names.values() if list(names.values()).count(name) > 1}
    labels = {path: f"{path.parent.name}/{name}" if name in repeated else name for path, name in names.items()}
    seen: dict[str, int] = {}
    for path in paths:
        label = labels[path]
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            labels[path] = f"{label}#{seen[label]}"
    return labels


def benchmark_model(
    path: Path, data: str | Path | None, config: BenchmarkConfig, floors: dict[str, float], label: str | None = None
) -> tuple[list[BenchmarkRow], dict[str, Any] | None]:
    """All rows of one model (named ``label`` in the table), plus its curves (labels and scores) for the plots."""
    label = label or path.name.removesuffix(".onnx")
    model = load_model(path)
    card = read_card(model, str(path)) if has_card(model) else None
    dataset = find_dataset(card, data, str(path))
    if card is None and dataset is not None:
        raise UsageError(f"{path} has no model card, so its classes, leads and rate are unknown and it cannot be "
                         "scored on --data; describe it first: 'compress describe MODEL --fs HZ --classes ...'")  # fmt: skip
    if card is not None and dataset is not None:
        check_compatible(card, dataset, str(path))
    stats = graph_summary(model, declared_shape(model, card))
    precision = "int8" if is_int8(model) else "fp32"
    base: BenchmarkRow = {
        "model": str(path), "name": label, "id": sha256_file(path),
        "architecture": card.architecture.get("name") if card else None, "precision": precision,
        "bytes": path.stat().st_size, "parameters": stats["parameters"], "macs": stats["macs"],
        "macs_uncounted_nodes": stats["macs_uncounted_nodes"],
        "leads": len(card.leads) if card else None,
    }  # fmt: skip
    curves = None
    if card is not None and dataset is not None:
        log(f"scoring {path.name} on the {config.split} split ({dataset.path})")
        accuracy = _accuracy(path, card, dataset, config)
        base.update({
            "macro_auc": accuracy["macro_auc"], "macro_auc_low": accuracy["macro_auc_low"],
            "macro_auc_high": accuracy["macro_auc_high"], "auc": accuracy["auc"], "fmax": accuracy["fmax"],
            "f1_at_thresholds": accuracy["f1_at_thresholds"], "test_records": accuracy["records"],
            "dataset": dataset.manifest.get("name"),
        })  # fmt: skip
        curves = {"name": label, "classes": card.classes, "labels": accuracy["labels"], "scores": accuracy["scores"]}
    else:
        base["note"] = NO_AUC_NOTE if card is None else f"no test data found for the card's dataset: {NO_AUC_NOTE}"
        log(f"{path.name}: {base['note']}")
    inputs = model_inputs(model, card, dataset, max(config.latency_records, max(config.batch)), config.split)
    base["timed_on"] = f"{config.split} records" if card is not None and dataset is not None else "seeded noise"
    fixed = fixed_batch(make_session(path))
    rows = []
    for provider in config.providers:
        for threads in config.threads:
            for batch in config.batch:
                if fixed is not None and batch != fixed:
                    log(f"{path.name}: its input batch is fixed at {fixed}; batch {batch} skipped")
                    continue
                reset_peak()
                session = make_session(path, threads=threads, providers=[provider])
                latency = measure_latency(session, _latency_inputs(inputs, batch), config.warmup_s,
                                          config.time_s, label=f"{path.name} {provider} t{threads} b{batch}")  # fmt: skip
                achieved = stats["macs"] * batch / (latency.mean_ms / 1000.0)
                row: BenchmarkRow = {
                    **base, "provider": provider, "threads": threads, "batch": batch, "calls": latency.calls,
                    "mean_ms": latency.mean_ms, "std_ms": latency.std_ms, "p50_ms": latency.p50_ms,
                    "p90_ms": latency.p90_ms, "p99_ms": latency.p99_ms, "throughput": latency.throughput,
                    "peak_rss_mb": round(peak_mb(), 1), "achieved_macs_per_s": achieved,
                }  # fmt: skip
                floor = floors.get(precision)
                if floor and threads == 1:
                    row["peak_macs_per_s"] = floor
                    row["fraction_of_peak"] = achieved / floor
                    row["floor_ms"] = stats["macs"] * batch / floor * 1000.0
                    row["x_floor"] = latency.p50_ms / row["floor_ms"] if row["floor_ms"] > 0 else float("inf")
                rows.append(row)
    return rows, curves


def _compare_to_baseline(
    rows: list[BenchmarkRow], baseline: list[BenchmarkRow], curves: dict[str, dict[str, Any]], rounds: int
) -> None:
    """Ratios against the baseline's row of the same configuration; where both rows were scored, the AUC
    delta with a paired bootstrap interval."""
    reference = curves.get(baseline[0]["model"])
    intervals: dict[str, tuple[float, float]] = {}
    for row in rows:
        if "error" in row:
            continue
        match = next((b for b in baseline if (b["provider"], b["threads"], b["batch"]) ==
                      (row["provider"], row["threads"], row["batch"])), None)  # fmt: skip
        if match is None:
            continue
        row["x_smaller"] = match["bytes"] / row["bytes"]
        row["x_faster"] = match["p50_ms"] / row["p50_ms"]
        row["baseline"] = match["name"]
        row["baseline_model"] = match["model"]
        mine = curves.get(row["model"])
        if reference is None or mine is None:
            continue
        row["delta_auc"] = row["macro_auc"] - match["macro_auc"]
        if row["model"] not in intervals:
            intervals[row["model"]] = bootstrap_macro_auc_difference(
                reference["labels"], mine["scores"], reference["scores"], rounds=rounds
            )
        row["delta_auc_low"], row["delta_auc_high"] = intervals[row["model"]]


def run_benchmark(
    models: list[Path], data: str | Path | None, config: BenchmarkConfig, baseline: Path | None = None
) -> dict[str, Any]:
    """Benchmark every model (and the baseline) and return the JSON-ready result."""
    floors: dict[str, float] = {}
    overhead: float | None = None
    if config.floor:
        log("probing the CPU's single-thread peak (fp32 MatMul, int8 MatMulInteger)")
        floors = {"fp32": peak_macs_per_s(False), "int8": peak_macs_per_s(True)}
        overhead = call_overhead_ms()
        log(f"peak fp32 {floors['fp32'] / 1e9:.1f} GMAC/s, int8 {floors['int8'] / 1e9:.1f} GMAC/s; "
            f"fixed cost of one call {overhead * 1000:.0f} us")  # fmt: skip
    ordered = ([baseline] if baseline is not None else []) + [m for m in models if m != baseline]
    rows: list[BenchmarkRow] = []
    curves: list[dict[str, Any]] = []
    baseline_rows: list[BenchmarkRow] = []
    curves_by_model: dict[str, dict[str, Any]] = {}
    labels = display_labels([Path(p) for p in ordered])
    for path in ordered:
        try:
            model_rows, model_curves = benchmark_model(Path(path), data, config, floors, labels[Path(path)])
        except ToolkitError as exc:
            log(f"model failed: {path}: {exc}")
            rows.append({"model": str(path), "name": labels[Path(path)], "error": str(exc)})
            continue
        if baseline is not None and path == baseline:
            baseline_rows = model_rows
        rows.extend(model_rows)
        if model_curves:
            curves.append(model_curves)
            curves_by_model[str(path)] = model_curves
    if baseline_rows:
        _compare_to_baseline(rows, baseline_rows, curves_by_model, config.bootstrap)
    config_dict = asdict(config)
    return {"environment": environment(), "config": config_dict, "peak_macs_per_s": floors,
            "call_overhead_ms": overhead, "rows": rows, "curves": curves}  # fmt: skip
