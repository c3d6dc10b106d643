"""Plot the pretraining curves of tools/synthetic_pretraining.sh: real only vs started from the synthetic default.

Reads the run folders that tool writes (WORK_DIR/nN-sS-KIND at the default learning rate,
WORK_DIR/nN-lrLR-sS-KIND otherwise; KIND is real or init) and draws, in one PNG:

* left, per real-record count N: validation (fold 9) macro AUC per epoch of both arms and seeds,
  each arm at the learning rate with the best mean fold-9 AUC (the tool's choice);
* right: test (fold 10) macro AUC against N for both arms (mean of the seeds, each seed a dot).

Prints the plotted figures as JSON on stdout.

Usage: python tools/pretraining_curves.py WORK_DIR OUT.png
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

from runtime.atomic import atomic_write_figure

RUN = re.compile(r"n(?P<n>\d+)-(?:lr(?P<lr>[0-9.e-]+)-)?s(?P<seed>\d+)-(?P<kind>real|init)$")
DEFAULT_LR = "0.001"
LABELS = {"real": "real records only", "init": "started from the synthetic default"}


def collect(work: Path) -> dict[tuple[int, str], dict[str, dict[int, dict[str, Any]]]]:
    """(N, kind) -> learning rate -> seed -> {run summary, per-epoch metrics} of every finished run."""
    runs: dict[tuple[int, str], dict[str, dict[int, dict[str, Any]]]] = defaultdict(dict)
    for folder in sorted(work.iterdir()):
        match = RUN.match(folder.name)
        if not match or not (folder / "run.json").is_file():
            continue
        summary = json.loads((folder / "run.json").read_text())
        epochs = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines() if line.strip()]
        key = (int(match["n"]), match["kind"])
        runs[key].setdefault(match["lr"] or DEFAULT_LR, {})[int(match["seed"])] = {**summary, "epochs": epochs}
    return runs


def chosen(by_lr: dict[str, dict[int, dict[str, Any]]]) -> str:
    """The learning rate with the best mean validation AUC over the seeds."""
    return max(by_lr, key=lambda lr: sum(r["val_macro_auc"] for r in by_lr[lr].values()) / len(by_lr[lr]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work_dir", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    runs = collect(args.work_dir)
    sizes = sorted({n for n, _ in runs if (n, "real") in runs and (n, "init") in runs})
    if not sizes:
        raise SystemExit(
            f"error: no finished pairs of runs in {args.work_dir}; run tools/synthetic_pretraining.sh first"
        )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sizes) + 1, figsize=(5 * (len(sizes) + 1), 4))
    colors = {"real": "tab:gray", "init": "tab:red"}
    figures: dict[str, Any] = {}
    for ax, n in zip(axes[:-1], sizes, strict=True):
        for kind in ("real", "init"):
            lr = chosen(runs[n, kind])
            for seed, run in sorted(runs[n, kind][lr].items()):
                epochs = [row["epoch"] + 1 for row in run["epochs"]]
                ax.plot(epochs, [row["val_macro_auc"] for row in run["epochs"]], color=colors[kind],
                        linestyle="-" if seed == 0 else "--", label=f"{LABELS[kind]} (lr {lr}, seed {seed})")  # fmt: skip
            figures[f"{n}-{kind}"] = {
                "lr": lr,
                "test_macro_auc": {s: r["test_macro_auc"] for s, r in runs[n, kind][lr].items()},
            }
        ax.set(title=f"{n:,} real training records", xlabel="epoch", ylabel="fold-9 macro AUC")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    curve = axes[-1]
    for kind in ("real", "init"):
        means = []
        for n in sizes:
            tests = list(figures[f"{n}-{kind}"]["test_macro_auc"].values())
            curve.scatter([n] * len(tests), tests, color=colors[kind], s=12)
            means.append(sum(tests) / len(tests))
        curve.plot(sizes, means, color=colors[kind], marker="o", label=LABELS[kind])
    curve.set(xscale="log", xlabel="real training records", ylabel="fold-10 macro AUC", title="test fold, chosen rates")
    curve.grid(alpha=0.3)
    curve.legend(fontsize=8)
    fig.suptitle("Synthetic pretraining + fine-tuning vs real-only training (sepresnet w1, real PTB-XL)")
    fig.tight_layout()
    atomic_write_figure(args.out, fig)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
