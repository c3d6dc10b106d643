"""Which simple record statistics tell real PTB-XL from the synthetic default? One small classifier per group.

`train synth-report`'s discriminator is a CNN that sees everything and says only how separable
the datasets are. This tool says *which* statistics separate them: for each group of per-record,
per-lead features (record mean, median, RMS, peak-to-peak, band powers, kurtosis, the share of
repeated samples, ...), a gradient-boosted classifier (scikit-learn) is trained on the same
seeded sample of training records as the report (folds 1-8 only), and its 5-fold cross-validated
ROC AUC printed (0.5: that statistic does not tell them apart). A group near 1.0 is a fingerprint
of the generator that a fix can target; this is how the record means of version 3 were found
(AUC 0.9999 before they were set).

Usage: python tools/feature_discriminator.py REAL_CACHE SYNTHETIC_CACHE [--records N] [--seed S] [--json]
About a minute on 2 cores for 2,000 records of each.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

import numpy as np

from runtime.dataset.cache import open_dataset
from train.synth.fidelity import band_limited, comparison_parser, repeated_samples, training_records

FeatureGroup = Callable[[np.ndarray, float], np.ndarray]


def _band_log_power(low: float, high: float) -> FeatureGroup:
    def features(x: np.ndarray, fs: float) -> np.ndarray:
        power = np.abs(np.fft.rfft(x - x.mean(axis=-1, keepdims=True), axis=-1)) ** 2
        frequencies = np.fft.rfftfreq(x.shape[-1], 1.0 / fs)
        return np.log(power[..., (frequencies >= low) & (frequencies < high)].sum(axis=-1) + 1e-9)

    return features


def _kurtosis(x: np.ndarray) -> np.ndarray:
    centred = x - x.mean(axis=-1, keepdims=True)
    return (centred**4).mean(axis=-1) / ((centred**2).mean(axis=-1) ** 2 + 1e-18)


def _burstiness(x: np.ndarray, fs: float) -> np.ndarray:
    """Log of the loudest one-second window's RMS above 15 Hz over the median window's."""
    seconds = x.shape[-1] // int(fs)
    high = band_limited(x, fs, 15.0, fs / 2)[..., : seconds * int(fs)]
    windows = high.reshape(*x.shape[:2], seconds, int(fs)).std(axis=-1)
    return np.log(windows.max(axis=-1) / (np.median(windows, axis=-1) + 1e-9) + 1e-9)


# name -> features [n, leads] (or [n, leads * k]) of records [n, leads, samples] at fs
FEATURE_GROUPS: dict[str, FeatureGroup] = {
    "record mean": lambda x, fs: x.mean(axis=-1),
    "record median": lambda x, fs: np.median(x, axis=-1),
    "log RMS": lambda x, fs: np.log(x.std(axis=-1) + 1e-6),
    "log peak-to-peak": lambda x, fs: np.log(np.ptp(x, axis=-1) + 1e-6),
    "kurtosis of signal and derivative": lambda x, fs: np.concatenate(
        [_kurtosis(x), _kurtosis(np.diff(x, axis=-1))], 1
    ),
    "share of repeated samples": lambda x, fs: repeated_samples(x).mean(axis=-1),
    "log power < 0.5 Hz": _band_log_power(0.0, 0.5),
    "log power 0.5-3 Hz": _band_log_power(0.5, 3.0),
    "log power 3-15 Hz": _band_log_power(3.0, 15.0),
    "log power 15-30 Hz": _band_log_power(15.0, 30.0),
    "log power 30-40 Hz": _band_log_power(30.0, 40.0),
    "log power 40-50 Hz": _band_log_power(40.0, 50.1),
    "high-band burstiness": lambda x, fs: _burstiness(x, fs),
}


def group_aucs(real: np.ndarray, synthetic: np.ndarray, fs: float, seed: int, rounds: int = 200) -> dict[str, float]:
    """Cross-validated ROC AUC of real (1) vs synthetic (0) per feature group, and of all together
    (``rounds``: boosting iterations of each classifier)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    x = np.concatenate([real, synthetic]).astype(np.float64)
    y = np.concatenate([np.ones(len(real)), np.zeros(len(synthetic))])
    folds = StratifiedKFold(5, shuffle=True, random_state=seed)

    def auc(features: np.ndarray) -> float:
        model = HistGradientBoostingClassifier(max_iter=rounds, random_state=seed)
        scores = cross_val_predict(model, features, y, cv=folds, method="predict_proba")[:, 1]
        return round(float(roc_auc_score(y, scores)), 4)

    table = {}
    every = []
    for name, group in FEATURE_GROUPS.items():
        features = group(x, fs).reshape(len(x), -1)
        every.append(features)
        table[name] = auc(features)
        print(f"{name:<36} {table[name]:.4f}", file=sys.stderr, flush=True)
    table["all groups together"] = auc(np.concatenate(every, axis=1))
    return table


def main() -> None:
    parser = comparison_parser(__doc__)
    parser.add_argument("--json", action="store_true", help="print the table as JSON")
    args = parser.parse_args()
    real, synthetic = open_dataset(args.real_cache), open_dataset(args.synthetic_cache)
    if real.fs != synthetic.fs or real.leads != synthetic.leads:
        sys.exit(f"error: the caches differ in rate or leads ({real.fs} vs {synthetic.fs} Hz); prepare both at 100 Hz")
    real_x, _ = training_records(real, args.records, args.seed)
    synth_x, _ = training_records(synthetic, args.records, args.seed)
    table = group_aucs(real_x, synth_x, float(real.fs), args.seed)
    if args.json:
        print(json.dumps(table, indent=2))
    else:
        print("| feature group (per lead) | real-vs-synthetic AUC |\n|---|---|")
        for name, value in table.items():
            print(f"| {name} | {value:.4f} |")


if __name__ == "__main__":
    main()
