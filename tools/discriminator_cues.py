"""What does the real-vs-synthetic discriminator look at? Its held-out AUC with parts of the records taken away.

``train synth-report``'s discriminator tells real PTB-XL records from synthetic ones; this tool
trains the same network (``fidelity.train_discriminator``, on a seeded sample of the training folds
1-8 of each dataset) and scores its held-out records again with one part of every record, real and
synthetic alike, taken away at test time:

* **a lead**: set to its training mean (0 after the network's normalization), or every other lead
  set so;
* **a band**: the records without it (``BANDS_HZ``; ``runtime.signal.spectral_filter``);
* **a phase of the cardiac cycle** (``PHASES``, parts of the RR interval between the R peaks found on
  lead II, ``noise_model.phase_bins``): the samples there replaced by a straight line between their
  neighbours, or every other sample so.

A part whose removal brings the AUC down towards 0.5 holds a cue the network relies on; a part kept
alone that still scores high holds one that suffices. The network has never seen records so
changed, so these are probes, not figures of the generator: compare the parts with each other, in
the same run. (Saliency, |gradient x input| of the logit, did not single out a planted bump in a test
where these probes do, so it is not printed.) ``--runs`` trains that many discriminators
(seeds ``--seed``, ``--seed + 1``, ...) and prints each run's AUC and their mean.

Usage: python tools/discriminator_cues.py REAL_CACHE SYNTHETIC_CACHE [--records N] [--seed S] [--runs R]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from runtime.dataset.cache import open_dataset
from runtime.metrics import roc_auc
from runtime.progress import log
from runtime.signal import spectral_filter
from train.synth.fidelity import (
    comparison_parser,
    lead_ii_peaks,
    train_discriminator,
    training_records,
)
from train.synth.noise_model import CYCLE_BINS, phase_bins

BANDS_HZ = ((0.0, 0.5), (0.5, 5.0), (5.0, 15.0), (15.0, 30.0), (30.0, 50.0))
# parts of the RR interval, as phase-bin ranges [first, last) of noise_model.CYCLE_BINS (20 bins); the QRS
# wraps around the R peak
PHASES = {"QRS": (18, 22), "ST-T": (2, 9), "TP": (9, 15), "P-PR": (15, 18)}

Probe = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (normalized records, phase bins [n, samples]) -> records


def phase_mask(bins: np.ndarray, phase: str) -> np.ndarray:
    """Where ``bins`` ``[..., samples]`` (``noise_model.phase_bins``) lie in the ``PHASES`` part ``phase``."""
    first, last = PHASES[phase]
    return np.isin(bins, np.arange(first, last) % CYCLE_BINS)


def bridged(records: np.ndarray, removed: np.ndarray) -> np.ndarray:
    """``records`` ``[n, leads, samples]`` with the samples where ``removed`` ``[n, samples]`` is true
    replaced by a straight line between the nearest kept samples on either side (per lead)."""
    out = records.copy()
    positions = np.arange(records.shape[-1])
    for index, gone in enumerate(removed):
        if gone.any() and not gone.all():
            for lead in range(records.shape[1]):
                out[index, lead, gone] = np.interp(positions[gone], positions[~gone], records[index, lead, ~gone])
    return out


def probes(leads: list[str], fs: float) -> dict[str, Probe]:
    """Every way this tool takes a part of the records away, by name."""

    def without_lead(k: int) -> Probe:
        return lambda x, _: np.where(np.arange(x.shape[1])[None, :, None] == k, 0.0, x).astype(np.float32)

    def only_lead(k: int) -> Probe:
        return lambda x, _: np.where(np.arange(x.shape[1])[None, :, None] == k, x, 0.0).astype(np.float32)

    def without_band(low: float, high: float) -> Probe:
        def keep(frequencies: np.ndarray) -> np.ndarray:
            return ((frequencies < low) | (frequencies >= high)).astype(float)

        return lambda x, _: spectral_filter(x.astype(np.float64), fs, keep).astype(np.float32)

    def without_phase(phase: str) -> Probe:
        return lambda x, bins: bridged(x, phase_mask(bins, phase))

    def only_phase(phase: str) -> Probe:
        return lambda x, bins: bridged(x, ~phase_mask(bins, phase))

    found: dict[str, Probe] = {"nothing taken away": lambda x, _: x}
    found |= {f"without {lead}": without_lead(k) for k, lead in enumerate(leads)}
    found |= {f"only {lead}": only_lead(k) for k, lead in enumerate(leads)}
    found |= {f"without {low:g}-{high:g} Hz": without_band(low, high) for low, high in BANDS_HZ}
    found |= {f"without {phase}": without_phase(phase) for phase in PHASES}
    found |= {f"only {phase}": only_phase(phase) for phase in PHASES}
    return found


def main() -> None:
    parser = comparison_parser(__doc__)
    parser.add_argument("--runs", type=int, default=1, help="discriminators to train (seeds --seed, --seed + 1, ...)")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs: must be at least 1")
    real_data, synthetic_data = open_dataset(args.real_cache), open_dataset(args.synthetic_cache)
    leads, fs = list(real_data.leads), float(real_data.fs)
    real, _ = training_records(real_data, args.records, args.seed)
    synthetic, _ = training_records(synthetic_data, args.records, args.seed)
    if real.shape[1:] != synthetic.shape[1:] or list(synthetic_data.leads) != leads:
        parser.error(f"record shapes or leads differ: real {real.shape[1:]}, synthetic {synthetic.shape[1:]}")
    records = np.concatenate([real, synthetic])
    peaks = lead_ii_peaks(records, leads, fs)
    median_rr = float(np.median([np.median(np.diff(p)) for p in peaks if len(p) >= 3])) / fs
    bins = np.stack([phase_bins(records.shape[-1], fs, p / fs if len(p) >= 3 else np.arange(0.0, 10.0, median_rr))
                     for p in peaks])  # fmt: skip
    named = probes(leads, fs)
    table: dict[str, list[float]] = {name: [] for name in named}
    for run in range(args.runs):
        trained = train_discriminator(real, synthetic, args.seed + run)
        held = trained.held
        log(f"run {run + 1}/{args.runs}: held-out AUC {trained.held_auc:.4f}; probing {len(named)} ways")
        for name, probe in named.items():
            table[name].append(roc_auc(trained.y[held], trained.scores(probe(trained.x[held], bins[held]))))
    header = " | ".join(f"run {run + 1}" for run in range(args.runs))
    print(f"| held-out records | {header} | mean |\n|---|" + "---|" * (args.runs + 1))
    for name, values in table.items():
        print(f"| {name} | " + " | ".join(f"{v:.4f}" for v in values) + f" | {np.mean(values):.4f} |")


if __name__ == "__main__":
    main()
