"""Classification metrics shared by training, compression and the benchmark (torch-free).

Macro AUC is the mean of per-class ROC AUCs (the PTB-XL benchmark's headline metric);
classes without both positives and negatives in the split are skipped and reported.
Computed with numpy alone (tests check them against scikit-learn): scikit-learn and the SciPy
it needs are half of a device install, so the runtime does not depend on them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC of one binary column: the Mann-Whitney statistic with average ranks for tied scores
    (the area under the ROC curve with ties as diagonal steps, as scikit-learn computes it)."""
    labels = np.asarray(labels).astype(bool)
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(scores, kind="mergesort")
    ordered = scores[order]
    boundaries = np.flatnonzero(np.diff(ordered)) + 1
    starts = np.concatenate(([0], boundaries))
    ends = np.concatenate((boundaries, [len(ordered)]))
    ranks = np.empty(len(ordered), dtype=np.float64)
    ranks[order] = np.repeat((starts + ends + 1) / 2.0, ends - starts)
    positives = int(labels.sum())
    negatives = len(labels) - positives
    return float((ranks[labels].sum() - positives * (positives + 1) / 2.0) / (positives * negatives))


def precision_recall_points(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(precision, recall, threshold) at every distinct score, in increasing threshold order, up to the
    highest threshold that already reaches full recall (lower ones only add false positives)."""
    labels = np.asarray(labels).astype(bool)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    ordered, hits = np.asarray(scores, dtype=np.float64)[order], labels[order]
    last_of_value = np.concatenate((np.flatnonzero(np.diff(ordered)), [len(ordered) - 1]))
    true_positives = np.cumsum(hits)[last_of_value]
    predicted = last_of_value + 1
    full = int(np.searchsorted(true_positives, true_positives[-1]))  # first point with every positive found
    keep = slice(0, full + 1)
    precision = true_positives[keep] / predicted[keep]
    recall = true_positives[keep] / true_positives[-1]
    return precision[::-1], recall[::-1], ordered[last_of_value][keep][::-1]


def roc_points(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(false positive rate, true positive rate) at every distinct score, from (0, 0) to (1, 1)."""
    labels = np.asarray(labels).astype(bool)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="mergesort")
    ordered = np.asarray(scores, dtype=np.float64)[order]
    last_of_value = np.concatenate((np.flatnonzero(np.diff(ordered)), [len(ordered) - 1]))
    true_positives = np.cumsum(labels[order])[last_of_value]
    false_positives = last_of_value + 1 - true_positives
    return (np.concatenate(([0.0], false_positives / max(1, len(labels) - labels.sum()))),
            np.concatenate(([0.0], true_positives / max(1, labels.sum()))))  # fmt: skip


def per_class_auc(labels: np.ndarray, scores: np.ndarray) -> list[float | None]:
    """ROC AUC per class (None where a class has only one label value)."""
    result: list[float | None] = []
    for k in range(labels.shape[1]):
        column = labels[:, k]
        if column.min() == column.max():
            result.append(None)
        else:
            result.append(roc_auc(column, scores[:, k]))
    return result


def macro_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Mean of the defined per-class AUCs (NaN if none is defined)."""
    values = [v for v in per_class_auc(labels, scores) if v is not None]
    return float(np.mean(values)) if values else float("nan")


def best_f1_thresholds(labels: np.ndarray, scores: np.ndarray) -> list[float]:
    """Per-class threshold that maximizes F1 on this split (chosen on validation, used everywhere).

    Exact over every distinct score (one sorted pass per class); among equal F1 the lowest threshold
    wins; a class without positives or negatives keeps 0.5.
    """
    thresholds = []
    for k in range(labels.shape[1]):
        column = labels[:, k]
        if column.min() == column.max():
            thresholds.append(0.5)
            continue
        precision, recall, cuts = precision_recall_points(column, scores[:, k])
        f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros_like(precision),
                       where=(precision + recall) > 0)  # fmt: skip
        # floor to 6 decimals: rounding up could exclude the record the threshold was cut at
        thresholds.append(float(np.floor(cuts[int(np.argmax(f1))] * 1e6) / 1e6))
    return thresholds


def f1_at(labels: np.ndarray, scores: np.ndarray, thresholds: list[float]) -> float:
    """Macro F1 with fixed per-class thresholds."""
    decisions = scores >= np.asarray(thresholds)[None, :]
    truth = np.asarray(labels).astype(bool)
    true_positives = (decisions & truth).sum(axis=0)
    denominator = decisions.sum(axis=0) + truth.sum(axis=0)  # 2 tp + fp + fn
    per_class = np.divide(2.0 * true_positives, denominator, out=np.zeros(len(denominator)), where=denominator > 0)
    return float(per_class.mean())


def fmax(labels: np.ndarray, scores: np.ndarray) -> float:
    """Fmax: the best sample-averaged F1 over one global threshold (as in the PTB-XL benchmark)."""
    best = 0.0
    for t in np.linspace(0.01, 0.99, 99):
        decisions = scores >= t
        tp = (decisions & (labels == 1)).sum(axis=1)
        predicted = decisions.sum(axis=1)
        actual = labels.sum(axis=1)
        has_prediction = predicted > 0
        if not has_prediction.any():
            continue
        precision = np.mean(tp[has_prediction] / predicted[has_prediction])
        recall = np.mean(tp / np.maximum(actual, 1))
        if precision + recall > 0:
            best = max(best, 2 * precision * recall / (precision + recall))
    return float(best)


def _bootstrap_interval(
    n: int, statistic: Callable[[np.ndarray], float], rounds: int, seed: int, level: float
) -> tuple[float, float]:
    """Percentile interval of ``statistic(resampled record indices)`` over ``rounds`` resamples."""
    if rounds <= 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    values = [value for value in (statistic(rng.integers(0, n, size=n)) for _ in range(rounds)) if np.isfinite(value)]
    if not values:
        return (float("nan"), float("nan"))
    tail = (1 - level) / 2 * 100
    return float(np.percentile(values, tail)), float(np.percentile(values, 100 - tail))


def bootstrap_macro_auc(
    labels: np.ndarray, scores: np.ndarray, rounds: int = 200, seed: int = 0, level: float = 0.9
) -> tuple[float, float]:
    """Bootstrap interval of macro AUC over records (level 0.9 -> 5th and 95th percentiles)."""
    return _bootstrap_interval(len(labels), lambda s: macro_auc(labels[s], scores[s]), rounds, seed, level)


def bootstrap_macro_auc_difference(
    labels: np.ndarray,
    scores: np.ndarray,
    baseline_scores: np.ndarray,
    rounds: int = 200,
    seed: int = 0,
    level: float = 0.9,
) -> tuple[float, float]:
    """Paired bootstrap interval of macro AUC(scores) - macro AUC(baseline_scores) on the same records.

    Both models are scored on the same resampled records in every round, so the interval is
    that of the difference itself (much narrower than two independent intervals).
    """

    def difference(sample: np.ndarray) -> float:
        return macro_auc(labels[sample], scores[sample]) - macro_auc(labels[sample], baseline_scores[sample])

    return _bootstrap_interval(len(labels), difference, rounds, seed, level)


def bootstrap_mean_macro_auc_difference(
    labels: np.ndarray,
    pairs: list[tuple[np.ndarray, np.ndarray]],
    rounds: int = 200,
    seed: int = 0,
    level: float = 0.9,
) -> tuple[float, float]:
    """Interval of the mean over ``pairs`` (scores, baseline scores) of macro AUC(scores) - macro AUC(baseline),
    all scored on the same records, e.g. one pair per training seed.

    Every round resamples the records (the same resample for every pair, as in the paired interval) and
    the pairs themselves, so the interval covers both the test set's sampling and the spread from seed
    to seed: what a mean over a few seeds would give on other records and other seeds.
    """
    if not pairs:
        raise ValueError("no pairs to compare")
    pair_rng = np.random.default_rng([seed, 1])

    def mean_difference(sample: np.ndarray) -> float:
        drawn = pair_rng.integers(0, len(pairs), size=len(pairs))
        differences = {index: macro_auc(labels[sample], pairs[index][0][sample])
                       - macro_auc(labels[sample], pairs[index][1][sample]) for index in set(drawn.tolist())}  # fmt: skip
        return float(np.mean([differences[index] for index in drawn]))

    return _bootstrap_interval(len(labels), mean_difference, rounds, seed, level)


def evaluation(
    labels: np.ndarray, scores: np.ndarray, classes: list[str] | tuple[str, ...], thresholds: list[float] | None = None
) -> dict[str, Any]:
    """Macro and per-class AUC, Fmax and (with thresholds) macro F1, as one JSON-ready dict."""
    per_class = per_class_auc(labels, scores)
    result: dict[str, Any] = {
        "records": len(labels),
        "macro_auc": macro_auc(labels, scores),
        "auc": {name: value for name, value in zip(classes, per_class, strict=True)},
        "fmax": fmax(labels, scores),
    }
    if thresholds is not None:
        result["f1_at_thresholds"] = f1_at(labels, scores, thresholds)
    return result
