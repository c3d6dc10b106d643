"""The runtime's numpy metrics equal scikit-learn's (which the runtime no longer needs)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import auc, f1_score, precision_recall_curve, roc_auc_score

from runtime.metrics import best_f1_thresholds, f1_at, roc_auc, roc_points


@pytest.mark.parametrize("seed", range(6))
def test_auc_and_f1_match_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = (rng.random((300, 5)) < [0.05, 0.2, 0.5, 0.7, 0.9]).astype(int)
    scores = rng.random((300, 5)).astype(np.float32)
    if seed % 2:  # heavy ties, as int8 outputs and rounded probabilities have
        scores = np.round(scores * 8) / 8
    for k in range(5):
        assert auc(*roc_points(labels[:, k], scores[:, k])) == pytest.approx(roc_auc(labels[:, k], scores[:, k]))
        assert roc_auc(labels[:, k], scores[:, k]) == pytest.approx(
            roc_auc_score(labels[:, k], scores[:, k]), abs=1e-12
        )
    thresholds = best_f1_thresholds(labels, scores)
    for k in range(5):
        precision, recall, cuts = precision_recall_curve(labels[:, k], scores[:, k])
        f1 = np.nan_to_num(2 * precision[:-1] * recall[:-1] / (precision[:-1] + recall[:-1]))
        expected = float(np.floor(np.float64(cuts[int(np.argmax(f1))]) * 1e6) / 1e6)  # in float64: never above the cut
        assert thresholds[k] == pytest.approx(expected, abs=1e-9)
    decisions = scores >= np.asarray(thresholds)
    assert f1_at(labels, scores, thresholds) == pytest.approx(
        f1_score(labels, decisions, average="macro", zero_division=0), abs=1e-12
    )
