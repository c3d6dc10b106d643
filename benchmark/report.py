"""Benchmark output: a table on stdout, JSON / CSV / Markdown files and PNG plots."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from benchmark.rows import BenchmarkRow
from runtime.atomic import atomic_write_figure, atomic_write_text

TABLE_COLUMNS = (
    ("name", "model", 28, "{:<28.28}"), ("precision", "prec", 4, "{:<4}"), ("provider", "provider", 8, "{:<8.8}"),
    ("threads", "thr", 3, "{:>3}"), ("batch", "batch", 5, "{:>5}"), ("bytes", "bytes", 10, "{:>10,}"),
    ("parameters", "params", 9, "{:>9,}"), ("macs", "MACs", 12, "{:>12,}"), ("p50_ms", "p50 ms", 8, "{:>8.3f}"),
    ("p90_ms", "p90 ms", 8, "{:>8.3f}"), ("x_floor", "x floor", 7, "{:>7.1f}"), ("throughput", "rec/s", 8, "{:>8.1f}"), ("macro_auc", "AUC", 6, "{:>6.4f}"),
    ("delta_auc", "dAUC", 7, "{:>+7.4f}"), ("x_smaller", "x small", 7, "{:>7.2f}"), ("x_faster", "x fast", 6, "{:>6.2f}"),
)  # fmt: skip


def public_result(result: dict[str, Any]) -> dict[str, Any]:
    """The result without the raw per-record scores (they only feed the plots)."""
    return {key: value for key, value in result.items() if key != "curves"}


def table(rows: list[BenchmarkRow]) -> str:
    """Fixed-width text table of the rows."""
    lines = [" ".join(title.rjust(width) if i > 1 else title.ljust(width)
                      for i, (_, title, width, _) in enumerate(TABLE_COLUMNS))]  # fmt: skip
    for row in rows:
        if "error" in row:
            lines.append(f"{row['name']:<28.28} ERROR: {row['error']}")
            continue
        cells = []
        for key, _, width, fmt in TABLE_COLUMNS:
            value = row.get(key)
            cells.append(fmt.format(value) if value is not None else "-".rjust(width))
        lines.append(" ".join(cells))
    return "\n".join(lines)


def flat_rows(rows: list[BenchmarkRow]) -> list[dict[str, Any]]:
    """Rows with per-class AUC spread into ``auc_<class>`` columns (for CSV)."""
    flat = []
    for row in rows:
        item = {k: v for k, v in row.items() if k != "auc"}
        for name, value in (row.get("auc") or {}).items():
            item[f"auc_{name}"] = value
        flat.append(item)
    return flat


def write_csv(rows: list[BenchmarkRow], path: Path, command: str) -> None:
    flat = flat_rows(rows)
    columns: list[str] = []
    for row in flat:
        columns += [k for k in row if k not in columns]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[*columns, "command"], lineterminator="\n")
    writer.writeheader()
    for row in flat:
        writer.writerow({**row, "command": command})
    atomic_write_text(path, buffer.getvalue())


def markdown(result: dict[str, Any]) -> str:
    """A Markdown report: results table and environment."""
    rows = result["rows"]
    lines = ["# Benchmark", "", "| model | precision | threads | batch | bytes | params | MACs | p50 ms | x floor | rec/s | "
             "macro AUC (90% CI) | dAUC (paired 90% CI) | x smaller | x faster |", "|" + "---|" * 14]  # fmt: skip
    for row in rows:
        if "error" in row:
            lines.append(f"| {row['name']} | error: {row['error']} |" + " |" * 12)
            continue
        ci = (f"{row['macro_auc']:.4f} ({row['macro_auc_low']:.4f}-{row['macro_auc_high']:.4f})"
              if row.get("macro_auc") is not None else f"- ({row.get('note', 'not scored')})")  # fmt: skip
        delta = f"{row['delta_auc']:+.4f}" if "delta_auc" in row else "-"
        if np.isfinite(row.get("delta_auc_low", np.nan)) and row["model"] != row.get("baseline_model"):
            delta += f" ({row['delta_auc_low']:+.4f} to {row['delta_auc_high']:+.4f})"
        smaller = f"{row['x_smaller']:.2f}" if "x_smaller" in row else "-"
        faster = f"{row['x_faster']:.2f}" if "x_faster" in row else "-"
        floor = f"{row['x_floor']:.1f}" if "x_floor" in row else "-"
        lines.append(f"| {row['name']} | {row['precision']} | {row['threads']} | {row['batch']} | {row['bytes']:,} | "
                     f"{row['parameters']:,} | {row['macs']:,} | {row['p50_ms']:.3f} | {floor} | {row['throughput']:.1f} | "
                     f"{ci} | {delta} | {smaller} | {faster} |")  # fmt: skip
    lines += ["", "## Environment", ""]
    for key, value in result["environment"].items():
        lines.append(f"- **{key}**: {value}")
    if result.get("peak_macs_per_s"):
        lines.append(
            "- **single-thread peak MAC/s**: "
            + ", ".join(f"{k} {v / 1e9:.1f} G" for k, v in result["peak_macs_per_s"].items())
        )
    if result.get("call_overhead_ms") is not None:
        lines.append(f"- **fixed cost of one session call** (one-node graph, [1, 12, 1000] input): "
                     f"{result['call_overhead_ms'] * 1000:.0f} us; x floor = p50 / (MACs at the single-thread peak)")  # fmt: skip
    return "\n".join(lines) + "\n"


def write_outputs(
    result: dict[str, Any],
    json_path: Path | None,
    csv_path: Path | None,
    markdown_path: Path | None,
    plots: Path | None,
) -> list[Path]:
    """Write whichever outputs were asked for; return their paths."""
    written = []
    public = public_result(result)
    if json_path:
        written.append(atomic_write_text(json_path, json.dumps(public, indent=2, default=_jsonable) + "\n"))
    if csv_path:
        write_csv(result["rows"], csv_path, result["environment"]["command"])
        written.append(csv_path)
    if markdown_path:
        written.append(atomic_write_text(markdown_path, markdown(result)))
    if plots:
        written += plot_all(result, plots)
    return written


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(type(value).__name__)


def plot_all(result: dict[str, Any], folder: Path) -> list[Path]:
    """ROC and precision-recall per class per model, and Pareto fronts (AUC vs bytes / latency)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from runtime.metrics import precision_recall_points, roc_points

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for curve in result.get("curves", []):
        fig, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
        for k, name in enumerate(curve["classes"]):
            labels, scores = curve["labels"][:, k], curve["scores"][:, k]
            if labels.min() == labels.max():
                continue
            fpr, tpr = roc_points(labels, scores)
            precision, recall, _ = precision_recall_points(labels, scores)
            roc_ax.plot(fpr, tpr, label=name)
            pr_ax.plot(recall, precision, label=name)
        roc_ax.plot([0, 1], [0, 1], color="grey", linewidth=0.5)
        roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title=f"ROC: {curve['name']}")
        pr_ax.set(xlabel="recall", ylabel="precision", title=f"precision-recall: {curve['name']}")
        roc_ax.legend(fontsize=8)
        pr_ax.legend(fontsize=8)
        written.append(atomic_write_figure(folder / f"curves-{curve['name'].replace('/', '-')}.png", fig))
    rows = [r for r in result["rows"] if "error" not in r and r.get("macro_auc") is not None]
    for key, label, name in (
        ("bytes", "file bytes (log)", "pareto-bytes.png"),
        ("p50_ms", "p50 latency ms (log)", "pareto-latency.png"),
    ):
        if not rows:
            break
        fig, ax = plt.subplots(figsize=(6.5, 4.5))
        first: dict[str, dict[str, Any]] = {}
        for row in rows:
            first.setdefault(row["name"], row)
        points = sorted(first.values(), key=lambda r: r[key])
        ax.scatter([r[key] for r in points], [r["macro_auc"] for r in points])
        for r in points:
            ax.annotate(r["name"], (r[key], r["macro_auc"]), fontsize=7)
        front, best = [], -1.0
        for r in points:
            if r["macro_auc"] > best:
                front.append(r)
                best = r["macro_auc"]
        ax.step([r[key] for r in front], [r["macro_auc"] for r in front], where="post", color="tab:red", linewidth=1)
        ax.set_xscale("log")
        ax.set(xlabel=label, ylabel="test macro AUC", title=f"Pareto front: AUC vs {key}")
        ax.grid(True, alpha=0.3)
        written.append(atomic_write_figure(folder / name, fig))
    return written
