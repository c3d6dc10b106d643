"""Where do real records hold still? The share of repeated samples by segment of the cardiac cycle.

`tools/feature_discriminator.py` finds that the share of repeated samples (two successive samples
equal to the microvolt) tells real PTB-XL from the synthetic default better than any other simple
statistic. This tool says where in the cardiac cycle the difference lies: per record (lead II,
R peaks found as in ``train synth-report``), the share of repeated samples in the TP segment (from
60% of each RR interval to 250 ms before the next R peak), from just before the QRS to the end of
the T wave (80 ms before to 400 ms after each R peak), and over the whole record; the median over
a seeded sample of training records (folds 1-8) of each dataset.

Usage: python tools/repeated_samples.py REAL_CACHE SYNTHETIC_CACHE [--records N] [--seed S]
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from runtime.dataset.cache import open_dataset
from train.synth.fidelity import lead_ii_peaks, repeated_samples, training_records

QRS_TO_T_S = (-0.08, 0.4)
TP_START_RR, TP_END_BEFORE_R_S = 0.6, 0.25


def segment_shares(lead: np.ndarray, peaks: np.ndarray, fs: float) -> dict[str, float]:
    """Share of repeated samples of one lead ``[samples]`` in mV, by segment around R ``peaks``."""
    repeated = repeated_samples(lead)
    tp = np.zeros(len(repeated), dtype=bool)
    qrs_to_t = np.zeros(len(repeated), dtype=bool)
    for here, following in itertools.pairwise(peaks):
        qrs_to_t[max(0, here + int(QRS_TO_T_S[0] * fs)) : here + int(QRS_TO_T_S[1] * fs)] = True
        start, stop = here + int(TP_START_RR * (following - here)), following - int(TP_END_BEFORE_R_S * fs)
        tp[max(0, start) : max(0, stop)] = True
    return {"TP segment": float(repeated[tp].mean()) if tp.any() else float("nan"),
            "QRS to T": float(repeated[qrs_to_t].mean()) if qrs_to_t.any() else float("nan"),
            "whole record": float(repeated.mean())}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("real_cache")
    parser.add_argument("synthetic_cache")
    parser.add_argument("--records", type=int, default=800)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print("| lead II, median over records | TP segment | QRS to T | whole record |\n|---|---|---|---|")
    for name, path in (("real", args.real_cache), ("synthetic", args.synthetic_cache)):
        dataset = open_dataset(path)
        signals, _ = training_records(dataset, args.records, args.seed)
        leads = list(dataset.leads)
        rows = [segment_shares(record[leads.index("II")].astype(np.float64), peaks, float(dataset.fs))
                for record, peaks in zip(signals, lead_ii_peaks(signals, leads, float(dataset.fs)), strict=True)
                if len(peaks) >= 3]  # fmt: skip
        medians = {key: float(np.nanmedian([row[key] for row in rows])) for key in rows[0]}
        print(f"| {name} | " + " | ".join(f"{value:.3f}" for value in medians.values()) + " |")


if __name__ == "__main__":
    main()
