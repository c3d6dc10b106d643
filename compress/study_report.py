"""The study's ``report.md``: the comparison table, target checks, plots and an honest text.

Rows are named by their recipe step (``teacher``, ``student-kd-pruned.int8``, ...); the targets and
paired intervals use the study recipes' step names and are skipped for models a recipe lacks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runtime.atomic import atomic_write_figure, atomic_write_text

LABELS = {
    "teacher": "teacher fp32", "teacher.int8": "teacher int8",
    "student-alone": "student trained alone", "student-alone.int8": "student alone int8",
    "student-kd": "student distilled", "student-kd.int8": "student distilled int8",
    "student-kd-pruned": "pruned distilled student", "student-kd-pruned.int8": "combined: distill -> prune -> int8",
    "lead-alone": "single-lead student alone", "lead-kd": "single-lead student distilled",
}  # fmt: skip


def label(name: str) -> str:
    """How the report names a step's model."""
    return LABELS.get(name, name)


def _check(ok: bool) -> str:
    return "met" if ok else "NOT met"


# Pairs whose macro-AUC difference gets a paired bootstrap interval on the test split.
INT8_PARENTS = {f"{name}.int8": name for name in ("teacher", "student-alone", "student-kd", "student-kd-pruned")}
PAIRS = (("student-kd", "student-alone"), ("lead-kd", "lead-alone"), ("student-kd-pruned", "student-kd"),
         *INT8_PARENTS.items())  # fmt: skip
# Real-PTB-XL targets (issue "Real PTB-XL"; published figures: resnet1d_wang 0.930, fcn_wang 0.925).
REAL_TEACHER_AUC, REAL_STUDENT_AUC, REAL_STUDENT_PARAMS, REAL_LEAD_AUC, REAL_COMBINED_BYTES = (
    0.925, 0.915, 100_000, 0.87, 130_000)  # fmt: skip


def targets(rows: dict[str, dict[str, Any]], config: Any) -> list[tuple[str, str, bool]]:
    """(target, measured, met) for the study's targets, measured in this run; a target whose models the
    recipe lacks is skipped.  ``config`` is the report step's ``ReportConfig``."""
    checks: list[tuple[str, str, bool]] = []
    teacher = rows.get("teacher")
    combined = rows.get("student-kd-pruned.int8")
    alone, kd, pruned = rows.get("student-alone"), rows.get("student-kd"), rows.get("student-kd-pruned")
    if teacher and combined:
        smaller = teacher["bytes"] / combined["bytes"]
        faster = teacher["p50_ms"] / combined["p50_ms"]
        delta = combined["macro_auc"] - teacher["macro_auc"]
        checks += [
            ("combined model >= 100x fewer bytes than the teacher", f"{smaller:.1f}x", smaller >= 100),
            ("combined model >= 30x lower batch-1 latency", f"{faster:.1f}x", faster >= 30),
            (f"combined model macro AUC within {config.max_combined_drop_pt:g} pt of the teacher",
             f"{delta * 100:+.2f} pt", delta * 100 >= -config.max_combined_drop_pt),
        ]  # fmt: skip
    if kd and alone:
        gain = kd["macro_auc"] - alone["macro_auc"]
        checks.append(("distilled student >= student alone + 0.5 pt", f"{gain * 100:+.2f} pt", gain >= 0.005))
    if kd and teacher:
        gap = kd["macro_auc"] - teacher["macro_auc"]
        checks.append(("distilled student >= teacher - 0.5 pt", f"{gap * 100:+.2f} pt", gap >= -0.005))
    if kd and pruned:
        mac_cut = 1 - pruned["macs"] / kd["macs"]
        cost = kd["macro_auc"] - pruned["macro_auc"]
        byte_ratio = pruned["bytes"] / kd["bytes"]
        checks += [
            ("pruning removes >= 50% of MACs", f"{mac_cut * 100:.1f}%", mac_cut >= 0.5),
            ("pruning costs <= 0.5 pt macro AUC",
             f"{cost * 100:.2f} pt lost" if cost >= 0 else f"{-cost * 100:.2f} pt gained", cost <= 0.005),
            ("pruned file <= 0.55x the bytes", f"{byte_ratio:.2f}x", byte_ratio <= 0.55),
        ]  # fmt: skip
    for name, parent in INT8_PARENTS.items():
        if name in rows and parent in rows:
            drop = rows[parent]["macro_auc"] - rows[name]["macro_auc"]
            ratio = rows[parent]["bytes"] / rows[name]["bytes"]
            checks.append((f"{label(name)}: within {config.max_int8_drop_pt:g} pt of fp32, >= 3.8x fewer bytes",
                           f"{-drop * 100:+.2f} pt, {ratio:.2f}x",
                           drop * 100 <= config.max_int8_drop_pt and ratio >= 3.8))  # fmt: skip
    if config.real_targets and teacher and kd and alone and combined:
        lead = rows.get("lead-kd")
        checks += [
            (f"teacher macro AUC >= {REAL_TEACHER_AUC}", f"{teacher['macro_auc']:.4f}",
             teacher["macro_auc"] >= REAL_TEACHER_AUC),
            (f"student <= {REAL_STUDENT_PARAMS:,} parameters with macro AUC >= {REAL_STUDENT_AUC}",
             f"{kd['parameters']:,} params, {max(kd['macro_auc'], alone['macro_auc']):.4f}",
             kd["parameters"] <= REAL_STUDENT_PARAMS and max(kd["macro_auc"], alone["macro_auc"]) >= REAL_STUDENT_AUC),
            ("student <= 1/10 of the teacher's parameters", f"1/{teacher['parameters'] / kd['parameters']:.1f}",
             kd["parameters"] * 10 <= teacher["parameters"]),
            (f"combined model <= {REAL_COMBINED_BYTES:,} bytes", f"{combined['bytes']:,} B",
             combined["bytes"] <= REAL_COMBINED_BYTES),
        ]  # fmt: skip
        if lead is not None:
            checks.append((f"single-lead distilled student >= {REAL_LEAD_AUC}", f"{lead['macro_auc']:.4f}",
                           lead["macro_auc"] >= REAL_LEAD_AUC))  # fmt: skip
    return checks


def paired_deltas(paths: dict[str, Path], data: Path, rounds: int = 1000) -> list[tuple[str, str, float, float, float]]:
    """(model, reference, delta, low, high): macro-AUC differences on the test split, paired bootstrap 90%."""
    from runtime.card import read_card
    from runtime.dataset.cache import open_dataset
    from runtime.evaluate import split_scores
    from runtime.metrics import bootstrap_macro_auc_difference, macro_auc
    from runtime.onnx_io import load_model
    from runtime.session import make_session

    dataset = open_dataset(data)
    scores: dict[str, Any] = {}

    def scored(name: str) -> Any:
        if name not in scores:
            card = read_card(load_model(paths[name]), str(paths[name]))
            scores[name] = split_scores(make_session(paths[name]), dataset, "test", card.leads)
        return scores[name]

    result = []
    for name, reference in PAIRS:
        if name not in paths or reference not in paths or not paths[name].is_file():
            continue
        labels, mine = scored(name)
        _, theirs = scored(reference)
        low, high = bootstrap_macro_auc_difference(labels, mine, theirs, rounds=rounds)
        result.append((name, reference, macro_auc(labels, mine) - macro_auc(labels, theirs), low, high))
    return result


def learning_curves(runs: dict[str, Path], target: Path) -> Path | None:
    """Validation macro AUC per epoch of each training run (``metrics.jsonl``) as one PNG."""
    histories = {}
    for name, folder in runs.items():
        metrics = folder / "metrics.jsonl"
        if metrics.is_file():
            histories[name] = [json.loads(line) for line in metrics.read_text().splitlines() if line.strip()]
    if not histories:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, history in histories.items():
        ax.plot([h["epoch"] + 1 for h in history], [h["val_macro_auc"] for h in history], marker=".", label=name)
    ax.set(xlabel="epoch", ylabel="validation macro AUC", title="Learning curves (validation split)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    target.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write_figure(target, fig, dpi=110)


def run_folder(path: Path) -> Path:
    """The training folder of a step's model: ``x.onnx`` trained in ``x.onnx.run``."""
    return path.with_name(path.name + ".run")


def write_report(
    benchmark_json: Path, target: Path, data: Path, config: Any, names: dict[Path, str], sweep: Path | None = None
) -> Path:
    """Write ``target`` (report.md) from the benchmark step's JSON, the sweep and the manifest."""
    out = target.parent
    benchmark = json.loads(benchmark_json.read_text())
    paths = {name: path for path, name in names.items()}
    by_path = {path.resolve(): name for path, name in names.items()}
    rows = {by_path[Path(row["model"]).resolve()]: row for row in benchmark["rows"]
            if "error" not in row and Path(row["model"]).resolve() in by_path}  # fmt: skip
    first = next(iter(rows.values()))
    teacher = rows.get("teacher", first)
    classes = list(teacher["auc"])
    manifest = json.loads((data / "manifest.json").read_text())
    state = json.loads((out / "manifest.json").read_text()) if (out / "manifest.json").is_file() else {}
    steps = state.get("steps", [])
    seconds = sum(step.get("seconds", 0.0) for step in steps)
    lines = [
        f"# {config.title}",
        "",
        f"{state.get('description') or 'Recipe'} (`{state.get('recipe', '?')}`), on `{manifest.get('name')}` "
        f"({teacher['test_records']} test records); all figures below were measured by this run (its steps took "
        f"{seconds / 60:.1f} minutes of compute in total).",
        "",
    ]
    if manifest.get("name") == "ptb-xl-synthetic":
        lines += [
            f"**The data is synthetic** (the toolkit's embedded PTB-XL stand-in in PTB-XL's layout, generator "
            f"`{manifest.get('version')}`; see docs/synthetic-data.md). The numbers show that every compression step works and what it costs relative to the "
            "teacher on the same data; they are not clinical performance, and absolute AUCs on real PTB-XL will differ. "
            "Run `compress study --recipe real --data PTBXL_DIR` for real figures.",
            "",
        ]
    reference = "teacher" if "teacher" in rows else next(iter(rows))
    lines += ["## Models", "", "| model | file | params | MACs | bytes | p50 ms (b1, 1 thread) | rec/s | macro AUC (90% CI) | "
              + " | ".join(classes) + f" | dAUC vs {reference} | x smaller | x faster |",
              "|" + "---|" * (11 + len(classes) - 1)]  # fmt: skip
    for name, row in rows.items():
        per_class = " | ".join(f"{row['auc'][c]:.3f}" if row["auc"][c] is not None else "-" for c in classes)
        lines.append(
            f"| {label(name)} | {paths[name].name} | {row['parameters']:,} | {row['macs']:,} | {row['bytes']:,} | "
            f"{row['p50_ms']:.3f} | {row['throughput']:.0f} | {row['macro_auc']:.4f} ({row['macro_auc_low']:.3f}-"
            f"{row['macro_auc_high']:.3f}) | {per_class} | {(row['macro_auc'] - teacher['macro_auc']) * 100:+.2f} pt | "
            f"{teacher['bytes'] / row['bytes']:.1f} | {teacher['p50_ms'] / row['p50_ms']:.1f} |"
        )
    checks = targets(rows, config)
    if checks:
        lines += ["", "## Targets", "", "| target | measured | |", "|---|---|---|"]
        lines += [f"| {name} | {measured} | {_check(ok)} |" for name, measured, ok in checks]
    deltas = paired_deltas(paths, data, rounds=config.bootstrap) if config.bootstrap else []
    if deltas:
        lines += ["", "## Differences with paired bootstrap intervals (test split, 90%)", "",
                  "| model | reference | dAUC | 90% interval |", "|---|---|---|---|"]  # fmt: skip
        for name, other, delta, low, high in deltas:
            lines.append(f"| {label(name)} | {label(other)} | {delta * 100:+.2f} pt | "
                         f"{low * 100:+.2f} to {high * 100:+.2f} pt |")  # fmt: skip
    runs = {label(name): run_folder(path) for name, path in paths.items() if run_folder(path).is_dir()}
    curves = learning_curves(runs, out / "plots" / "learning-curves.png")
    if curves is not None:
        lines += ["", "![learning curves](plots/learning-curves.png)"]
    if steps:
        lines += [
            "",
            "## Wall time of each step (this machine, seconds)",
            "",
            "| step | kind | seconds |",
            "|---|---|---|",
        ]
        lines += [f"| {step['name']} | {step['step']} | {step.get('seconds', 0):,.0f} |" for step in steps]
    if sweep is not None and (sweep / "sweep.csv").is_file():
        relative = sweep.relative_to(out)
        lines += ["", "## Width sweep (parameters vs test AUC)", "", "```", (sweep / "sweep.csv").read_text().strip(),
                  "```", "", f"![sweep]({relative}/sweep.png)"]  # fmt: skip
    lines += ["", "## Plots", "", "![AUC vs bytes](plots/pareto-bytes.png)", "",
              "![AUC vs latency](plots/pareto-latency.png)", ""]  # fmt: skip
    for curve in sorted((out / "plots").glob("curves-*.png")):
        lines.append(f"![{curve.stem}](plots/{curve.name})")
    lines += ["", "## What held and what did not", ""]
    lines += [f"- {name}: {measured} ({_check(ok)})." for name, measured, ok in checks]
    lead, lead_alone = rows.get("lead-kd"), rows.get("lead-alone")
    if lead and lead_alone:
        from runtime.card import read_card
        from runtime.onnx_io import load_model

        leads = ",".join(read_card(load_model(paths["lead-kd"])).leads)
        lines.append(
            f"- Single-lead ({leads}) student: {lead['macro_auc']:.4f} with distillation from the 12-lead "
            f"teacher vs {lead_alone['macro_auc']:.4f} trained alone (teacher {teacher['macro_auc']:.4f})."
        )
    lines.append(
        "- Latency is single-thread onnxruntime on this CPU; int8 gains depend on the CPU's int8 instructions "
        "(see the environment): compare ratios, not absolute times, across machines."
    )
    lines += ["", "## Environment", ""]
    for key, value in benchmark["environment"].items():
        lines.append(f"- **{key}**: {value}")
    atomic_write_text(target, "\n".join(lines) + "\n")
    return target
