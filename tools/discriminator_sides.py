"""Which side gives the synthetic default away: its beats, or its noise? The discriminator, split in two.

``train synth-report``'s discriminator tells real PTB-XL records from synthetic ones, but not by
what. This tool builds records halfway between the two and trains the same discriminator
(``fidelity.discriminator_runs``) on three pairs:

* **real vs synthetic**: the report's figure, on this tool's sample;
* **the noise side, real vs hybrid**: a hybrid is a real training record's own median beat laid at
  its own R peaks, varied from beat to beat as the generator varies every beat
  (``fitted.varied_beats``), plus the generator's noise (``noise_model``) and the record's own lead
  means, stored to the microvolt. Against the real records it differs only in what the generator
  adds to a median beat;
* **the beat side, hybrid vs synthetic**: both carry the generator's beat-to-beat variation and
  noise; they differ in the median beats, the rhythm (the hybrids keep the real R peaks) and the
  fibrillatory waves.

0.5 is indistinguishable. Real and hybrid records are disjoint seeded samples of the real training
folds (1-8); synthetic records a seeded sample of the synthetic cache's training folds. ``--band LOW
HIGH`` trains every discriminator on that band of the records alone (``fidelity.band_limited``, as
the report's bands).

Usage: python tools/discriminator_sides.py REAL_CACHE SYNTHETIC_CACHE [--records N] [--seed S] [--band LOW HIGH]
"""

from __future__ import annotations

import numpy as np

from runtime.dataset.cache import open_dataset
from runtime.progress import log
from train.synth.beat_model import BeatModel, found_rrs, independent_lead_indices, record_beats
from train.synth.cardiac import leads_from_electrodes
from train.synth.fidelity import band_limited, comparison_parser, discriminator_runs, training_records
from train.synth.fitted import electrodes_from_leads, packaged_model, packaged_noise, varied_beats
from train.synth.noise_model import NoiseModel

CHUNK = 500  # records per batch of median-beat finding
STORED_MV = 1e-3  # PTB-XL and the synthetic default store 1 uV steps


def hybrid_records(signals: np.ndarray, leads: tuple[str, ...], fs: int, model: BeatModel, noise: NoiseModel,
                   rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """Real records ``[n, 12, samples]`` (mV) remade from their own median beats and R peaks with the
    generator's beat-to-beat variation and noise; the records in which no beat was found are left out."""
    chosen = independent_lead_indices(leads)
    made = []
    for start in range(0, len(signals), CHUNK):
        chunk = signals[start : start + CHUNK]
        found = record_beats(chunk, leads, fs)
        for record, times, beat in zip(chunk, found.r_times, found.beats, strict=True):
            if not np.isfinite(beat).all() or len(times) < 3:
                continue
            rrs = found_rrs(times)
            independent = varied_beats(model, rng, beat, times, rrs, record.shape[-1]) + noise.sample(rng, times)
            independent += record[chosen].mean(axis=1, keepdims=True) - independent.mean(axis=1, keepdims=True)
            twelve = leads_from_electrodes(electrodes_from_leads(independent))
            made.append(np.round(twelve / STORED_MV) * STORED_MV)
    return np.asarray(made, dtype=np.float32)


def main() -> None:
    parser = comparison_parser(__doc__, records_help="records on each side of every pair")
    parser.add_argument("--band", type=float, nargs=2, metavar=("LOW", "HIGH"), help="Hz; the whole record by default")
    args = parser.parse_args()
    if args.band and not 0.0 <= args.band[0] < args.band[1]:
        parser.error(f"--band {args.band[0]:g} {args.band[1]:g}: give LOW below HIGH, both in Hz (e.g. --band 15 45)")
    real_data = open_dataset(args.real_cache)
    signals, _ = training_records(real_data, 2 * args.records, args.seed)
    real, to_remake = signals[0::2], signals[1::2].astype(np.float64)
    synthetic, _ = training_records(open_dataset(args.synthetic_cache), args.records, args.seed)
    log(f"remaking {len(to_remake)} real records from their median beats")
    hybrid = hybrid_records(to_remake, tuple(real_data.leads), int(real_data.fs), packaged_model(), packaged_noise(),
                            np.random.default_rng(args.seed))  # fmt: skip
    pairs = {"real vs synthetic": (real, synthetic),
             "noise side: real vs hybrid (real median beats, generated variation and noise)": (real, hybrid),
             "beat side: hybrid vs synthetic (median beats, rhythm)": (hybrid, synthetic)}  # fmt: skip
    print("| pair | discriminator AUC (best-validating run) | runs |")
    print("|---|---|---|")
    fs = float(real_data.fs)
    for name, (first, second) in pairs.items():
        log(f"discriminator: {name}")
        if args.band:
            first, second = band_limited(first, fs, *args.band), band_limited(second, fs, *args.band)
        chosen, runs = discriminator_runs(first, second, args.seed)
        print(f"| {name} | {chosen:.4f} | {' / '.join(f'{value:.4f}' for value in runs)} |", flush=True)


if __name__ == "__main__":
    main()
