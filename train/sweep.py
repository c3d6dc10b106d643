"""``train sweep``: one family at several widths -> params, MACs, test macro AUC (CSV + PNG)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from runtime.atomic import atomic_write_figure, atomic_write_text
from runtime.card import read_card
from runtime.graph_stats import graph_summary
from runtime.onnx_io import load_model
from train.config import FitConfig, RunSpec
from train.fit import run_fit

COLUMNS = ("arch", "width", "parameters", "macs", "bytes", "val_macro_auc", "test_macro_auc", "model")


def run_sweep(
    data: str | Path,
    arch: str,
    widths: list[float],
    out: Path,
    config: FitConfig,
    max_train: int | None = None,
    force: bool = False,
    existing: dict[float, Path] | None = None,
) -> list[dict[str, Any]]:
    """Train each width into ``out/w<width>`` (finished runs are reused) and tabulate them.

    ``existing`` maps widths to finished run folders trained elsewhere with the same settings.
    """
    rows = []
    for width in widths:
        run_dir = (existing or {}).get(width) or out / f"w{width:g}"
        summary_file = run_dir / "run.json"
        if summary_file.is_file() and (not force or run_dir != out / f"w{width:g}"):
            import json

            summary = json.loads(summary_file.read_text())
        else:
            summary = run_fit(data, RunSpec(arch, width, max_train=max_train), run_dir, config, force=True)
        model = load_model(summary["model"])
        stats = graph_summary(model, [1, len(summary["leads"]), read_card(model, summary["model"]).window])
        rows.append({
            "arch": arch, "width": width, "parameters": stats["parameters"], "macs": stats["macs"],
            "bytes": Path(summary["model"]).stat().st_size, "val_macro_auc": round(summary["val_macro_auc"], 4),
            "test_macro_auc": round(summary["test_macro_auc"], 4), "model": summary["model"],
        })  # fmt: skip
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(out / "sweep.csv", buffer.getvalue())
    plot_sweep(rows, out / "sweep.png")
    return rows


def plot_sweep(rows: list[dict[str, Any]], path: Path) -> None:
    """Parameters (log scale) against test macro AUC, one point per width."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ordered = sorted(rows, key=lambda r: r["parameters"])
    ax.plot([r["parameters"] for r in ordered], [r["test_macro_auc"] for r in ordered], marker="o")
    for r in ordered:
        ax.annotate(f"w={r['width']:g}", (r["parameters"], r["test_macro_auc"]), fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("test macro AUC")
    ax.set_title(f"{rows[0]['arch']}: parameters vs AUC" if rows else "sweep")
    ax.grid(True, alpha=0.3)
    atomic_write_figure(path, fig)
