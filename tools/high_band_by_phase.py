"""How loud is the high band at each phase of the cardiac cycle, in real PTB-XL and in the synthetic default?

``train synth-report``'s 15-45 Hz discriminator tells real from synthetic records apart, and
``tools/discriminator_sides.py --band 15 45`` puts the cue on the noise side (what the generator
adds to a median beat). This tool prints where in the cycle that band's level differs: per record
and lead, the root mean square of the 22-45 Hz band (raised-cosine edges ``EDGE_HZ`` wide, so that
no QRS rings far into the TP segment, as a sharp band edge would) in each of ``noise_model.CYCLE_BINS``
phase bins of the RR interval (R peaks found on lead II, as the report finds them), and the median
over a seeded sample of training records (folds 1-8) of each dataset, in uV. Bin 0 starts at the R
peak.

Usage: python tools/high_band_by_phase.py REAL_CACHE SYNTHETIC_CACHE [--records N] [--seed S] [--leads II,V2,V4]
"""

from __future__ import annotations

import numpy as np

from runtime.dataset.cache import open_dataset
from runtime.signal import spectral_filter
from train.synth.fidelity import comparison_parser, lead_ii_peaks, training_records
from train.synth.noise_model import CYCLE_BINS, median_by_phase

BAND_HZ = (22.0, 45.0)
EDGE_HZ = 3.0  # half-width of each raised-cosine edge


def smooth_band(signals: np.ndarray, fs: float, low: float, high: float) -> np.ndarray:
    """The ``low``-``high`` Hz band of records ``[..., samples]``, each edge a raised cosine
    ``2 * EDGE_HZ`` wide centred on it."""

    def response(frequencies: np.ndarray) -> np.ndarray:
        rise = np.clip((frequencies - low + EDGE_HZ) / (2 * EDGE_HZ), 0.0, 1.0)
        fall = np.clip((high + EDGE_HZ - frequencies) / (2 * EDGE_HZ), 0.0, 1.0)
        return (0.5 - 0.5 * np.cos(np.pi * rise)) * (0.5 - 0.5 * np.cos(np.pi * fall))

    return spectral_filter(signals, fs, response)


def high_band_profile(signals: np.ndarray, leads: list[str], fs: float) -> np.ndarray:
    """``[leads, CYCLE_BINS]``: the median over records (those with 3 or more R peaks) of each
    record's ``BAND_HZ`` root mean square in uV by lead and phase bin (``noise_model.median_by_phase``)."""
    band = smooth_band(signals.astype(np.float64), fs, *BAND_HZ) * 1000.0
    r_times = [peaks / fs for peaks in lead_ii_peaks(signals, leads, fs)]
    return median_by_phase(band, r_times, fs, 0, lambda part: np.sqrt(np.mean(part**2, axis=-1)))


def main() -> None:
    parser = comparison_parser(__doc__)
    parser.add_argument("--leads", default="II,V2,V4", help="comma-separated lead names (default II,V2,V4)")
    args = parser.parse_args()
    datasets = {"real": open_dataset(args.real_cache), "synthetic": open_dataset(args.synthetic_cache)}
    leads = list(datasets["real"].leads)
    shown = args.leads.split(",")
    unknown = [name for name in shown if name not in leads]
    if unknown:
        parser.error(f"--leads: no lead {', '.join(unknown)}; choose from {','.join(leads)}")
    profiles = {}
    for name, dataset in datasets.items():
        signals, _ = training_records(dataset, args.records, args.seed)
        profiles[name] = high_band_profile(signals, leads, float(dataset.fs))
    print(
        f"{BAND_HZ[0]:g}-{BAND_HZ[1]:g} Hz RMS (uV) by phase of the RR interval (bin 0 starts at R), median over records"
    )
    print("| lead | records | " + " | ".join(str(b) for b in range(CYCLE_BINS)) + " |")
    print("|---|---|" + "---|" * CYCLE_BINS)
    for lead in shown:
        for name, profile in profiles.items():
            print(f"| {lead} | {name} | " + " | ".join(f"{v:.1f}" for v in profile[leads.index(lead)]) + " |")


if __name__ == "__main__":
    main()
