"""Do the high band's bursts go together in different leads as in real PTB-XL? Real vs the synthetic default.

Muscle and electrode bursts are local: in real records they reach neighbouring leads more than
distant ones. This tool measures that on whole records (no beat model needed, so any two prepared
caches compare): per record, between its QRS complexes (R peaks found on lead II, as ``train
synth-report`` finds them; ``noise_model.between_qrs``), the correlation between leads of the high
band's envelope (``noise_model.envelope_correlation``: log root mean square of the second
difference over windows of ``ENVELOPE_WINDOW`` samples), the median over a seeded sample of
training records (folds 1-8) of each dataset. Prints, for each dataset, the correlation of a few lead
pairs and the mean over all pairs of the chosen leads.

Usage: python tools/burst_correlation.py REAL_CACHE SYNTHETIC_CACHE [--records N] [--seed S] [--leads I,II,V1,...]
"""

from __future__ import annotations

import itertools

import numpy as np

from runtime.dataset.cache import open_dataset
from train.synth.fidelity import comparison_parser, lead_ii_peaks, training_records
from train.synth.noise_model import between_qrs, envelope_correlation

DEFAULT_LEADS = "I,II,V1,V2,V3,V4,V5,V6"  # the independent leads (the others follow from I and II)
SHOWN_PAIRS = (("I", "II"), ("I", "V2"), ("V1", "V2"), ("V2", "V3"), ("V4", "V5"), ("V1", "V6"))


def record_envelope_correlation(signals: np.ndarray, leads: list[str], fs: float, chosen: list[str]) -> np.ndarray:
    """``envelope_correlation`` ``[chosen, chosen]`` of records ``[n, 12, samples]`` in mV, between
    the QRS complexes found on lead II (records with fewer than 3 R peaks left out)."""
    r_times = [peaks / fs for peaks in lead_ii_peaks(signals, leads, fs)]
    rows = [i for i, times in enumerate(r_times) if len(times) >= 3]
    if not rows:
        raise SystemExit("error: no record has 3 or more R peaks on lead II; pass more --records or check the cache")
    picked = signals[rows][:, [leads.index(name) for name in chosen]].astype(np.float64)
    weights = np.stack([between_qrs(r_times[i], signals.shape[-1], fs) for i in rows])
    return envelope_correlation(picked, weights)


def main() -> None:
    parser = comparison_parser(__doc__)
    parser.add_argument("--leads", default=DEFAULT_LEADS, help=f"comma-separated lead names (default {DEFAULT_LEADS})")
    args = parser.parse_args()
    chosen = args.leads.split(",")
    pairs = [pair for pair in SHOWN_PAIRS if set(pair) <= set(chosen)]
    print("| high-band envelope correlation | " + " | ".join(f"{a}-{b}" for a, b in pairs) + " | mean of all pairs |")
    print("|---" * (len(pairs) + 2) + "|")
    for name, path in (("real", args.real_cache), ("synthetic", args.synthetic_cache)):
        dataset = open_dataset(path)
        leads = list(dataset.leads)
        missing = [lead for lead in chosen if lead not in leads]
        if missing:
            raise SystemExit(f"error: {path} has no lead {', '.join(missing)}; choose --leads among {', '.join(leads)}")
        signals, _ = training_records(dataset, args.records, args.seed)
        correlation = record_envelope_correlation(signals, leads, float(dataset.fs), chosen)
        cells = [correlation[chosen.index(a), chosen.index(b)] for a, b in pairs]
        every = [correlation[i, j] for i, j in itertools.combinations(range(len(chosen)), 2)]
        print(f"| {name} | " + " | ".join(f"{cell:.2f}" for cell in cells) + f" | {np.mean(every):.2f} |")


if __name__ == "__main__":
    main()
