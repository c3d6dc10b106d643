"""How variable is the rhythm of real PTB-XL records and of the synthetic default? RR statistics side by side.

Per record, R peaks are found to a fifth of a sample (``beat_model.record_beats``, as the beat
model's fit finds them) and the RR intervals between them give three figures: SDNN (their standard
deviation), RMSSD (the root mean square of successive differences: beat-to-beat jitter) and the
lag-1 autocorrelation (near 0 for independent jitter, higher where breathing and slower waves set
the rhythm). The tool prints their quantiles over a seeded sample of training records (folds 1-8)
of each dataset; records with fewer than ``MIN_BEATS`` R peaks are left out.

Usage: python tools/rhythm_statistics.py REAL_CACHE SYNTHETIC_CACHE [--records N] [--seed S]
"""

from __future__ import annotations

import numpy as np

from runtime.dataset.cache import open_dataset
from train.synth.beat_model import record_beats
from train.synth.fidelity import comparison_parser, training_records

MIN_BEATS = 6
QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9)


def rhythm_figures(r_times: list[np.ndarray]) -> dict[str, np.ndarray]:
    """SDNN and RMSSD (ms) and the lag-1 autocorrelation of the RR intervals of every record whose R
    peaks ``r_times`` (seconds) number at least ``MIN_BEATS``, each ``[records]``."""
    sdnn, rmssd, lag1 = [], [], []
    for times in r_times:
        if len(times) < MIN_BEATS:
            continue
        rr = np.diff(times) * 1000.0
        centred = rr - rr.mean()
        sdnn.append(rr.std())
        rmssd.append(np.sqrt(np.mean(np.diff(rr) ** 2)))
        lag1.append(float(centred[:-1] @ centred[1:]) / max(float(centred @ centred), 1e-9))
    return {"SDNN, ms": np.array(sdnn), "RMSSD, ms": np.array(rmssd), "lag-1 autocorrelation": np.array(lag1)}


def main() -> None:
    parser = comparison_parser(__doc__, records=1500)
    args = parser.parse_args()
    print("| figure | records | " + " | ".join(f"p{round(q * 100)}" for q in QUANTILES) + " |")
    print("|---|---|" + "---|" * len(QUANTILES))
    rows: dict[str, list[str]] = {}
    for name, path in (("real", args.real_cache), ("synthetic", args.synthetic_cache)):
        dataset = open_dataset(path)
        signals, _ = training_records(dataset, args.records, args.seed)
        found = record_beats(signals.astype(np.float64), tuple(dataset.leads), float(dataset.fs))
        for figure, values in rhythm_figures(found.r_times).items():
            style = "{:.2f}" if "autocorrelation" in figure else "{:.1f}"
            cells = " | ".join(style.format(v) for v in np.quantile(values, QUANTILES)) if len(values) else "none"
            rows.setdefault(figure, []).append(f"| {figure} | {name} ({len(values)}) | {cells} |")
    print("\n".join(line for lines in rows.values() for line in lines))


if __name__ == "__main__":
    main()
