"""Does a real record's ST-T follow each beat's RR interval? A check on the training folds.

For a seeded sample of real training records (folds 1-8), each record's own median beat
(``beat_model.record_beats``) is laid back at its own R peaks (``beat_model.lay_beats``, the
generator's renderer) three ways: its part after the QRS (``beat_model.QRS_END_S``) stretched by
Bazett's rule with the RR that follows each beat (what version 3 drew until round 12), with the RR
that precedes it, or not stretched.  Per record, the mean square of the record minus the laid beats
after each QRS (``QRS_END_S`` after the R peak to ``TAIL_MARGIN_S`` before the next one, each lead's
mean there removed); per group of records by the SD of their RR intervals, the median of each
rule's, of its ratio to the following-RR stretch's, and how often it is the lower.  (The median beat
is the median of unstretched beats, which leans towards no stretch; it leans as much against both
stretches, and a record whose ST-T follows one of them still shows it: the tests plant one.)

Usage: python tools/repolarization_stretch.py REAL_CACHE [--records N] [--seed S]
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise

import numpy as np

from runtime.dataset.cache import open_dataset
from train.synth.beat_model import QRS_END_S, found_rrs, independent_lead_indices, lay_beats, record_beats
from train.synth.fidelity import BEAT_WINDOW_S, real_records_parser, training_records

BAZETT_RANGE = (0.8, 1.25)  # a stretch is held within this range
TAIL_MARGIN_S = 0.15  # the window after a QRS ends this long before the next R peak
RR_SD_GROUPS_MS = ((0.0, 20.0), (20.0, 50.0), (50.0, 100.0), (100.0, np.inf))


def bazett(record_rr: float, rrs: np.ndarray) -> np.ndarray:
    """Bazett's stretch ``[beats]``: the square root of the record's RR over each beat's ``rrs``."""
    return np.clip(np.sqrt(record_rr / rrs), *BAZETT_RANGE)


# each rule: (RR to the next beat [beats], the record's median RR) -> stretches [beats], or None for none
Rule = Callable[[np.ndarray, float], np.ndarray | None]
RULES: dict[str, Rule] = {
    "following RR": lambda rrs, record_rr: bazett(record_rr, rrs),
    "preceding RR": lambda rrs, record_rr: bazett(record_rr, np.concatenate([[record_rr], rrs[:-1]])),
    "none": lambda rrs, record_rr: None,
}


def after_qrs(r_times: np.ndarray, samples: int, fs: float) -> np.ndarray:
    """Samples ``[samples]`` from ``QRS_END_S`` after each R peak to ``TAIL_MARGIN_S`` before the next."""
    t = np.arange(samples) / fs
    mask = np.zeros(samples, dtype=bool)
    for r_time, next_time in pairwise(r_times):
        mask |= (t >= r_time + QRS_END_S) & (t <= next_time - TAIL_MARGIN_S)
    return mask


def residual_powers(signals: np.ndarray, leads: tuple[str, ...], fs: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per record with at least four beats found: the SD of its RR intervals (ms) and, per rule of
    ``RULES``, the mean square after the QRS of the record less its median beat laid by that rule (uV^2)."""
    found = record_beats(signals, leads, fs)
    chosen = independent_lead_indices(leads)
    sds: list[float] = []
    powers: dict[str, list[float]] = {name: [] for name in RULES}
    for record, times, beat in zip(signals[:, chosen], found.r_times, found.beats, strict=True):
        if not np.isfinite(beat).all() or len(times) < 4:
            continue
        rrs, mask = found_rrs(times), after_qrs(times, record.shape[-1], fs)
        sds.append(float(np.std(np.diff(times)) * 1000.0))
        for name, rule in RULES.items():
            laid = lay_beats(beat, BEAT_WINDOW_S, fs, times, rrs, np.ones((len(times), len(record))),
                             record.shape[-1], fs, stretches=rule(rrs, float(np.median(np.diff(times)))))  # fmt: skip
            residual = (record - laid)[:, mask]
            powers[name].append(float(np.mean((residual - residual.mean(axis=1, keepdims=True)) ** 2) * 1e6))
    return np.array(sds), {name: np.array(values) for name, values in powers.items()}


def main() -> None:
    args = real_records_parser(__doc__, records=1500).parse_args()
    dataset = open_dataset(args.real_cache)
    signals, _ = training_records(dataset, args.records, args.seed)
    sds, powers = residual_powers(signals, dataset.leads, int(dataset.fs))
    reference = powers["following RR"]
    print(f"residual after the QRS, {len(sds)} real training records: median uV^2 (median ratio to the following-RR"
          " stretch's; share of records below it)")  # fmt: skip
    print("| RR SD, ms | records | " + " | ".join(RULES) + " |\n|---|---|" + "---|" * len(RULES))
    for low, high in RR_SD_GROUPS_MS:
        group = (sds >= low) & (sds < high)
        cells = [f"{np.median(values[group]):.0f}" + ("" if values is reference else
                 f" ({np.median(values[group] / reference[group]):.3f}; {np.mean(values[group] < reference[group]):.2f})")
                 for values in powers.values()]  # fmt: skip
        print(f"| {low:.0f}-{high:.0f} | {group.sum()} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
