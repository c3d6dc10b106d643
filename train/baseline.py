"""A linear baseline on simple per-lead features, to show the task needs more than a linear model.

Features per lead: mean, standard deviation, min, max, 5/25/50/75/95th percentiles,
mean absolute first difference; standardized; one logistic regression per class.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from runtime.dataset.cache import PreparedDataset
from runtime.metrics import evaluation


def lead_features(signals_mv: np.ndarray) -> np.ndarray:
    """``[n, leads, samples]`` -> ``[n, leads * 10]`` summary features."""
    x = signals_mv
    percentiles = np.percentile(x, [5, 25, 50, 75, 95], axis=-1).transpose(1, 2, 0)
    parts = [x.mean(-1)[..., None], x.std(-1)[..., None], x.min(-1)[..., None], x.max(-1)[..., None], percentiles,
             np.abs(np.diff(x, axis=-1)).mean(-1)[..., None]]  # fmt: skip
    return np.concatenate(parts, axis=-1).reshape(len(x), -1)


def _features(dataset: PreparedDataset, split: str, chunk: int = 2000) -> tuple[np.ndarray, np.ndarray]:
    indices = dataset.indices(split)
    feats = [lead_features(dataset.millivolts(indices[i : i + chunk])) for i in range(0, len(indices), chunk)]
    return np.concatenate(feats), np.asarray(dataset.labels[indices])


def linear_baseline(dataset: PreparedDataset, seed: int = 0) -> dict[str, Any]:
    """Fit on train, report test-split metrics."""
    x_train, y_train = _features(dataset, "train")
    x_test, y_test = _features(dataset, "test")
    scaler = StandardScaler().fit(x_train)
    scores = np.zeros(y_test.shape, dtype=np.float64)
    for k in range(y_train.shape[1]):
        clf = LogisticRegression(max_iter=2000, C=1.0, random_state=seed)
        clf.fit(scaler.transform(x_train), y_train[:, k])
        scores[:, k] = clf.predict_proba(scaler.transform(x_test))[:, 1]
    return {"model": "logistic regression on 10 features per lead", **evaluation(y_test, scores, dataset.classes)}
