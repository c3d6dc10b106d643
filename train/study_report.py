"""The study's ``report.md``: the comparison table, target checks, plots and an honest text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runtime.atomic import atomic_write_text

LABELS = {
    "teacher": "teacher fp32", "teacher-int8": "teacher int8",
    "student-alone": "student trained alone", "student-alone-int8": "student alone int8",
    "student-kd": "student distilled", "student-kd-int8": "student distilled int8",
    "student-kd-pruned": "pruned distilled student", "student-kd-pruned-int8": "combined: distill -> prune -> int8",
    "lead-alone": "single-lead student alone", "lead-kd": "single-lead student distilled",
}  # fmt: skip


def _rows_by_path(benchmark: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(Path(row["model"]).resolve()): row for row in benchmark["rows"]}


def _check(ok: bool) -> str:
    return "met" if ok else "NOT met"


def targets(rows: dict[str, dict[str, Any]]) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for the study's targets, measured in this run."""
    teacher, combined = rows["teacher"], rows["student-kd-pruned-int8"]
    alone, kd, pruned = rows["student-alone"], rows["student-kd"], rows["student-kd-pruned"]
    smaller = teacher["bytes"] / combined["bytes"]
    faster = teacher["p50_ms"] / combined["p50_ms"]
    delta = combined["macro_auc"] - teacher["macro_auc"]
    mac_cut = 1 - pruned["macs"] / kd["macs"]
    prune_cost = kd["macro_auc"] - pruned["macro_auc"]
    byte_ratio = pruned["bytes"] / kd["bytes"]
    return [
        ("combined model >= 100x fewer bytes than the teacher", f"{smaller:.1f}x", smaller >= 100),
        ("combined model >= 30x lower batch-1 latency", f"{faster:.1f}x", faster >= 30),
        ("combined model macro AUC within 1 pt of the teacher", f"{delta * 100:+.2f} pt", delta >= -0.01),
        ("distilled student >= student alone + 0.5 pt", f"{(kd['macro_auc'] - alone['macro_auc']) * 100:+.2f} pt",
         kd["macro_auc"] - alone["macro_auc"] >= 0.005),
        ("distilled student >= teacher - 0.5 pt", f"{(kd['macro_auc'] - teacher['macro_auc']) * 100:+.2f} pt",
         kd["macro_auc"] - teacher["macro_auc"] >= -0.005),
        ("pruning removes >= 50% of MACs", f"{mac_cut * 100:.1f}%", mac_cut >= 0.5),
        ("pruning costs <= 0.5 pt macro AUC", f"{prune_cost * 100:+.2f} pt", prune_cost <= 0.005),
        ("pruned file <= 0.55x the bytes", f"{byte_ratio:.2f}x", byte_ratio <= 0.55),
    ]  # fmt: skip


def write_report(out: Path, paths: dict[str, Path], order: list[str], preset: Any, data: Path, seconds: float) -> Path:
    """Write ``out/report.md`` from ``benchmark.json`` and the sweep; return its path."""
    benchmark = json.loads((out / "benchmark.json").read_text())
    by_path = _rows_by_path(benchmark)
    rows = {name: by_path[str(paths[name].resolve())] for name in order if str(paths[name].resolve()) in by_path}
    teacher = rows["teacher"]
    classes = list(teacher["auc"])
    lines = [
        "# ECG compression study",
        "",
        f"Preset `{preset.name}` on `{data}` ({teacher['test_records']} test records); all figures below were "
        f"measured by `train study` (its steps took {seconds / 60:.1f} minutes of compute in total).",
        "",
    ]
    manifest = json.loads((data / "manifest.json").read_text())
    if manifest.get("name") == "ptb-xl-synthetic":
        lines += [
            "**The data is synthetic** (the toolkit's embedded PTB-XL stand-in: a 3-D dipole ECG model written in "
            "PTB-XL's layout). The numbers show that every compression step works and what it costs relative to the "
            "teacher on the same data; they are not clinical performance, and absolute AUCs on real PTB-XL will differ. "
            "Run `train study --data PTBXL_DIR` for real figures.",
            "",
        ]
    lines += ["## Models", "", "| model | params | MACs | bytes | p50 ms (b1, 1 thread) | rec/s | macro AUC (90% CI) | "
              + " | ".join(classes) + " | dAUC vs teacher | x smaller | x faster |",
              "|" + "---|" * (10 + len(classes) - 1)]  # fmt: skip
    for name, row in rows.items():
        per_class = " | ".join(f"{row['auc'][c]:.3f}" if row["auc"][c] is not None else "-" for c in classes)
        lines.append(
            f"| {LABELS[name]} | {row['parameters']:,} | {row['macs']:,} | {row['bytes']:,} | {row['p50_ms']:.3f} | "
            f"{row['throughput']:.0f} | {row['macro_auc']:.4f} ({row['macro_auc_low']:.3f}-{row['macro_auc_high']:.3f}) | "
            f"{per_class} | {(row['macro_auc'] - teacher['macro_auc']) * 100:+.2f} pt | "
            f"{teacher['bytes'] / row['bytes']:.1f} | {teacher['p50_ms'] / row['p50_ms']:.1f} |"
        )
    lines += ["", "## Targets", "", "| target | measured | |", "|---|---|---|"]
    for target, measured, ok in targets(rows):
        lines.append(f"| {target} | {measured} | {_check(ok)} |")
    sweep_csv = out / "sweep" / "sweep.csv"
    if sweep_csv.is_file():
        lines += ["", "## Width sweep (parameters vs test AUC)", "", "```", sweep_csv.read_text().strip(), "```", "",
                  "![sweep](sweep/sweep.png)"]  # fmt: skip
    lines += ["", "## Plots", "", "![AUC vs bytes](plots/pareto-bytes.png)", "",
              "![AUC vs latency](plots/pareto-latency.png)", ""]  # fmt: skip
    for curve in sorted((out / "plots").glob("curves-*.png")):
        lines.append(f"![{curve.stem}](plots/{curve.name})")
    lines += ["", "## What held and what did not", ""]
    lines += [f"- {target}: {measured} ({_check(ok)})." for target, measured, ok in targets(rows)]
    lead = rows.get("lead-kd")
    lead_alone = rows.get("lead-alone")
    if lead and lead_alone:
        lines.append(
            f"- Single-lead ({preset.single_lead}) student: {lead['macro_auc']:.4f} with distillation from the 12-lead "
            f"teacher vs {lead_alone['macro_auc']:.4f} trained alone (teacher {teacher['macro_auc']:.4f})."
        )
    lines.append(
        "- Latency is single-thread onnxruntime on this CPU; int8 gains depend on the CPU's int8 instructions "
        "(see the environment): compare ratios, not absolute times, across machines."
    )
    lines += ["", "## Environment", ""]
    for key, value in benchmark["environment"].items():
        lines.append(f"- **{key}**: {value}")
    report = out / "report.md"
    atomic_write_text(report, "\n".join(lines) + "\n")
    return report
