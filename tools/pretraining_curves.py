"""Results of tools/synthetic_pretraining.sh: real only vs started from the synthetic default, table and curves.

Reads the run folders that tool writes (WORK_DIR/nN[-eEPOCHS][-lrLR]-sS-KIND; no -e at 30
epochs, no -lr at 0.001; KIND is real, init, or init-interp, the last being the started arm with
--interpolate; with SOUP=1 also nN-soup-sS-KIND, the greedy soup of an arm's runs). A recipe is
(learning rate, epochs, interpolated or not), or the soup; each arm gets the recipe with the best
mean fold-9 AUC over the seeds (among the recipes run on all of them), and the tool prints a
Markdown table per seed and their mean (fold-9 / fold-10 AUC and the difference) with each arm's
mean fold-9 AUC by recipe. With ``--plot OUT.png`` it also draws, in one PNG:

* left, per real-record count N: validation (fold 9) macro AUC per epoch of both arms and seeds,
  each arm at its chosen recipe (an interpolated run's curve is that of its fine-tuning);
* right: test (fold 10) macro AUC against N for both arms (mean of the seeds, each seed a dot).

``--json`` prints the chosen recipes and fold-10 figures as JSON instead of the table.

``--bootstrap ROUNDS --data REAL_CACHE`` adds, per N, a 90% interval for the mean fold-10
difference: each chosen run's model.onnx is scored again on fold 10 (and must give its run.json's
figure), then every round resamples the fold-10 records (the same for every model) and the seeds
(``runtime.metrics.bootstrap_mean_macro_auc_difference``). A mean over a few seeds is an estimate
like any other; the interval says how far from a target it could be by chance.

Usage: python tools/pretraining_curves.py WORK_DIR [--sizes N ...] [--lrs LR ...] [--epochs E ...]
       [--no-soups] [--plot OUT.png] [--json] [--bootstrap ROUNDS --data REAL_CACHE]
"""

from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any, NamedTuple

from runtime.atomic import atomic_write_figure

# the folder names tools/synthetic_pretraining.sh (run_dir) writes; the default epochs and rate have none
RUN = re.compile(r"n(?P<n>\d+)-(?:(?P<soup>soup)-)?(?:e(?P<epochs>\d+)-)?(?:lr(?P<lr>[0-9.e-]+)-)?s(?P<seed>\d+)"
                 r"-(?P<kind>real|init)(?P<interp>-interp)?$")  # fmt: skip
DEFAULT_LR = "0.001"
DEFAULT_EPOCHS = 30
SOUP = "soup"  # the recipe 'rate' of a greedy soup (train soup) of an arm's runs
LABELS = {"real": "real records only", "init": "started from the synthetic default"}


class Recipe(NamedTuple):
    """How one arm was fine-tuned: peak learning rate (or SOUP), epoch budget, weight interpolation or not."""

    lr: str
    epochs: int = DEFAULT_EPOCHS
    interpolated: bool = False

    def order(self) -> tuple[bool, float, int, bool]:
        """Sort key: by rate, epochs and interpolation, the soup last."""
        soup = self.lr == SOUP
        return (soup, 0.0 if soup else float(self.lr), self.epochs, self.interpolated)

    def label(self) -> str:
        """'0.003' at the defaults, else with what differs: '0.003, 8 ep, interpolated'; 'greedy soup'."""
        if self.lr == SOUP:
            return "greedy soup"
        return ", ".join([self.lr] + [f"{self.epochs} ep"] * (self.epochs != DEFAULT_EPOCHS)
                         + ["interpolated"] * self.interpolated)  # fmt: skip


Runs = dict[tuple[int, str], dict[Recipe, dict[int, dict[str, Any]]]]


def collect(
    work: Path, sizes: set[int] | None = None, rates: set[str] | None = None, budgets: set[int] | None = None,
    soups: bool = True,
) -> Runs:  # fmt: skip
    """(N, arm) -> recipe -> seed -> {run summary, per-epoch metrics} of every finished run (of these
    ``sizes``, learning ``rates`` and epoch ``budgets`` only, where given; soups unless ``soups`` is
    false). Arms: real and init."""
    runs: Runs = defaultdict(dict)
    for folder in sorted(work.iterdir()):
        match = RUN.match(folder.name)
        if not match or not (folder / "run.json").is_file():
            continue
        if match["soup"] and not soups:
            continue
        if match["soup"]:
            recipe = Recipe(SOUP)
        else:
            recipe = Recipe(match["lr"] or DEFAULT_LR, int(match["epochs"] or DEFAULT_EPOCHS), bool(match["interp"]))
        n = int(match["n"])
        if sizes and n not in sizes:
            continue
        if not match["soup"]:  # a soup's ingredients were the tool's grid, not filtered here
            if rates and float(recipe.lr) not in {float(r) for r in rates}:
                continue
            if budgets and recipe.epochs not in budgets:
                continue
        summary = json.loads((folder / "run.json").read_text())
        metrics = folder / "metrics.jsonl"  # a soup trained nothing: no epochs
        lines = metrics.read_text().splitlines() if metrics.is_file() else []
        epochs = [json.loads(line) for line in lines if line.strip()]
        run = {**summary, "epochs": epochs, "folder": str(folder)}
        runs[n, match["kind"]].setdefault(recipe, {})[int(match["seed"])] = run
    return runs


def mean_val(seeds: dict[int, dict[str, Any]]) -> float:
    """Mean fold-9 macro AUC of one recipe's runs over the seeds."""
    return sum(r["val_macro_auc"] for r in seeds.values()) / len(seeds)


def chosen(by_recipe: dict[Recipe, dict[int, dict[str, Any]]]) -> Recipe:
    """The recipe with the best mean validation AUC over the seeds, among those run on every seed the arm
    has (a mean over fewer seeds is not comparable, and the table pairs the arms seed by seed)."""
    seeds = set().union(*(set(runs) for runs in by_recipe.values()))
    complete = [recipe for recipe, runs in by_recipe.items() if set(runs) == seeds] or list(by_recipe)
    return max(complete, key=lambda recipe: mean_val(by_recipe[recipe]))


def recipe_note(run: dict[str, Any]) -> str:
    """' alpha A' for an interpolated run (the share of the fine-tuned weights it kept), ' of K runs'
    (', start included') for a soup, else ''."""
    training = run.get("training", {})
    if "soup" in training:
        members = training["soup"]["members"]
        runs = [m for m in members if not m.startswith("start")]
        return f" of {len(runs)} run{'s' * (len(runs) != 1)}" + (", start included" if len(runs) < len(members) else "")
    interpolation = training.get("interpolation")
    if not interpolation:
        return ""
    alpha = interpolation["alpha"]
    return f" alpha {1 if alpha is None else alpha:g}"


def table(runs: Runs, sizes: list[int]) -> str:
    """The Markdown table of both arms at their chosen rates, and each arm's fold-9 mean by rate."""
    lines = ["| real records | seed | real only (recipe): val / test | synthetic init (recipe): val / test | test difference |",
             "|---|---|---|---|---|"]  # fmt: skip
    notes = []
    for n in sizes:
        real_recipe, init_recipe = chosen(runs[n, "real"]), chosen(runs[n, "init"])
        real, init = runs[n, "real"][real_recipe], runs[n, "init"][init_recipe]
        seeds = sorted(set(real) & set(init))
        for seed in seeds:
            r, i = real[seed], init[seed]
            lines.append(f"| {n:,} | {seed} | ({real_recipe.label()}) {r['val_macro_auc']:.4f} / {r['test_macro_auc']:.4f} | "
                         f"({init_recipe.label()}{recipe_note(i)}) {i['val_macro_auc']:.4f} / {i['test_macro_auc']:.4f} | "
                         f"{(i['test_macro_auc'] - r['test_macro_auc']) * 100:+.2f} pt |")  # fmt: skip
        if len(seeds) > 1:
            means = {arm: {key: sum(runs[s][key] for s in seeds) / len(seeds) for key in ("val_macro_auc", "test_macro_auc")}
                     for arm, runs in (("real", real), ("init", init))}  # fmt: skip
            r, i = means["real"], means["init"]
            lines.append(f"| {n:,} | mean of {len(seeds)} | {r['val_macro_auc']:.4f} / {r['test_macro_auc']:.4f} | "
                         f"{i['val_macro_auc']:.4f} / {i['test_macro_auc']:.4f} | "
                         f"**{(i['test_macro_auc'] - r['test_macro_auc']) * 100:+.2f} pt** |")  # fmt: skip
        for kind in ("real", "init"):
            if len(runs[n, kind]) > 1:
                ordered = sorted(runs[n, kind].items(), key=lambda kv: kv[0].order())
                notes.append(f"{n:,} records, {kind}: mean fold-9 AUC by recipe: "
                             + "; ".join(f"{recipe.label()} {mean_val(seeds):.4f}" for recipe, seeds in ordered))  # fmt: skip
    return "\n".join([*lines, "", *notes]).rstrip() + "\n"


def test_scores(run: dict[str, Any], dataset: Any) -> tuple[Any, Any]:
    """Fold-10 labels and probabilities of a run's model.onnx; refuse a model that does not give the
    fold-10 figure its run.json reports (another dataset, or a model written over since)."""
    from runtime.card import read_card
    from runtime.evaluate import check_compatible, split_scores
    from runtime.metrics import macro_auc
    from runtime.onnx_io import load_model
    from runtime.session import make_session

    path = Path(run["folder"]) / "model.onnx"
    card = read_card(load_model(path), str(path))
    check_compatible(card, dataset, str(path))
    labels, scores = split_scores(make_session(path, threads=1), dataset, "test", card.leads)
    measured = macro_auc(labels, scores)
    if abs(measured - run["test_macro_auc"]) > 5e-4:
        raise SystemExit(f"error: {path} scores {measured:.4f} on fold 10 of {dataset.path}, but its run.json says "
                         f"{run['test_macro_auc']:.4f}; pass the --data cache the runs were trained on")  # fmt: skip
    return labels, scores


def gain_intervals(runs: Runs, sizes: list[int], data: Path, rounds: int) -> dict[int, tuple[float, float]]:
    """Per N: the 90% interval of the mean fold-10 difference (started - real only) of the chosen recipes,
    records and seeds resampled (``bootstrap_mean_macro_auc_difference``)."""
    from runtime.dataset.cache import open_dataset
    from runtime.metrics import bootstrap_mean_macro_auc_difference

    dataset = open_dataset(data, progress=False)
    intervals = {}
    for n in sizes:
        real, init = runs[n, "real"][chosen(runs[n, "real"])], runs[n, "init"][chosen(runs[n, "init"])]
        labels, pairs = None, []
        for seed in sorted(set(real) & set(init)):
            labels, started = test_scores(init[seed], dataset)
            pairs.append((started, test_scores(real[seed], dataset)[1]))
        if labels is None:
            raise SystemExit(f"no seed has both arms at {n} real records: train both arms with the same seeds")
        intervals[n] = bootstrap_mean_macro_auc_difference(labels, pairs, rounds=rounds)
    return intervals


def interval_lines(intervals: dict[int, tuple[float, float]], rounds: int) -> str:
    """One line per N: the mean difference's 90% interval, in points."""
    return "".join(f"{n:,} records: 90% interval of the mean test difference {low * 100:+.2f} to {high * 100:+.2f} pt "
                   f"({rounds} rounds; fold-10 records and seeds resampled)\n"
                   for n, (low, high) in intervals.items())  # fmt: skip


def network(runs: Runs, work: Path) -> str:
    """'ARCH wWIDTH' of the runs ('' where their summaries do not say). Both arms are compared as one
    network, so a WORK_DIR holding runs of several (the shell tool skips any finished run folder,
    whatever its width) is refused rather than tabulated."""
    names = {f"{run['arch']} w{run['width']:g}" if "arch" in run and "width" in run else ""
             for by_recipe in runs.values() for seeds in by_recipe.values() for run in seeds.values()}  # fmt: skip
    if len(names) > 1:
        raise SystemExit(f"error: {work} holds runs of several networks ({', '.join(sorted(names))}); "
                         "give each ARCH and WIDTH a WORK_DIR of its own")  # fmt: skip
    return names.pop() if names else ""


def plot(runs: Runs, sizes: list[int], out: Path, network_name: str = "") -> None:
    """Fine-tuning curves per N and fold-10 AUC against N, each arm at its chosen rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(sizes) + 1, figsize=(5 * (len(sizes) + 1), 4))
    colors = {"real": "tab:gray", "init": "tab:red"}
    for ax, n in zip(axes[:-1], sizes, strict=True):
        for kind in ("real", "init"):
            recipe = chosen(runs[n, kind])
            for seed, run in sorted(runs[n, kind][recipe].items()):
                style = {"color": colors[kind], "linestyle": "-" if seed == 0 else "--",
                         "label": f"{LABELS[kind]} ({recipe.label()}, seed {seed})"}  # fmt: skip
                if not run["epochs"]:  # a soup: its fold-9 AUC as a level
                    ax.axhline(run["val_macro_auc"], **style)
                    continue
                epochs = [row["epoch"] + 1 for row in run["epochs"]]
                ax.plot(epochs, [row["val_macro_auc"] for row in run["epochs"]], **style)
        ax.set(title=f"{n:,} real training records", xlabel="epoch", ylabel="fold-9 macro AUC")
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    curve = axes[-1]
    for kind in ("real", "init"):
        means = []
        for n in sizes:
            tests = [r["test_macro_auc"] for r in runs[n, kind][chosen(runs[n, kind])].values()]
            curve.scatter([n] * len(tests), tests, color=colors[kind], s=12)
            means.append(sum(tests) / len(tests))
        curve.plot(sizes, means, color=colors[kind], marker="o", label=LABELS[kind])
    curve.set(
        xscale="log", xlabel="real training records", ylabel="fold-10 macro AUC", title="test fold, chosen recipes"
    )
    curve.grid(alpha=0.3)
    curve.legend(fontsize=8)
    on = f"{network_name}, real PTB-XL" if network_name else "real PTB-XL"
    fig.suptitle(f"Synthetic pretraining + fine-tuning vs real-only training ({on})")
    fig.tight_layout()
    atomic_write_figure(out, fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("work_dir", type=Path)
    parser.add_argument("--sizes", type=int, nargs="+", help="real-record counts to include (default: all)")
    parser.add_argument("--lrs", nargs="+", help="learning rates to choose from (default: all)")
    parser.add_argument("--epochs", type=int, nargs="+", help="epoch budgets to choose from (default: all)")
    parser.add_argument("--no-soups", action="store_true", help="leave the greedy soups (SOUP=1) out")
    parser.add_argument("--plot", type=Path, help="also draw the curves into this PNG")
    parser.add_argument("--json", action="store_true", help="print the chosen rates and fold-10 figures as JSON")
    parser.add_argument("--bootstrap", type=int, default=0, metavar="ROUNDS",
                        help="with --data: a 90%% interval of the mean test difference over this many rounds")  # fmt: skip
    parser.add_argument("--data", type=Path, help="the real cache the runs trained on (for --bootstrap)")
    args = parser.parse_args()
    if args.bootstrap < 0 or (args.bootstrap > 0) != (args.data is not None):
        parser.error("--bootstrap ROUNDS (a positive count) and --data REAL_CACHE go together")
    runs = collect(args.work_dir, set(args.sizes or []), set(args.lrs or []), set(args.epochs or []), not args.no_soups)
    sizes = sorted({n for n, _ in runs if (n, "real") in runs and (n, "init") in runs})
    if not sizes:
        raise SystemExit(
            f"error: no finished pairs of runs in {args.work_dir}; run tools/synthetic_pretraining.sh first"
        )
    network_name = network(runs, args.work_dir)
    if args.plot:
        plot(runs, sizes, args.plot, network_name)
    intervals = gain_intervals(runs, sizes, args.data, args.bootstrap) if args.bootstrap else {}
    if args.json:
        figures: dict[str, Any] = {
            f"{n}-{kind}": {**(recipe := chosen(runs[n, kind]))._asdict(),
                            "test_macro_auc": {s: r["test_macro_auc"] for s, r in runs[n, kind][recipe].items()}}
            for n in sizes for kind in ("real", "init")
        }  # fmt: skip
        for n, (low, high) in intervals.items():
            figures[f"{n}-difference-interval"] = {"low": low, "high": high, "rounds": args.bootstrap}
        print(json.dumps(figures, indent=2))
    else:
        print(table(runs, sizes) + (interval_lines(intervals, args.bootstrap) if intervals else ""), end="")


if __name__ == "__main__":
    main()
