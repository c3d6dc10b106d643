"""Where do real records hold still? The share of repeated samples by segment of the cardiac cycle.

`tools/feature_discriminator.py` finds that the share of repeated samples (two successive samples
equal to the microvolt) tells real PTB-XL from the synthetic default better than any other simple
statistic. This tool says where in the cardiac cycle the difference lies: per record (lead II,
R peaks found as in ``train synth-report``), the share of repeated samples in the TP segment (from
60% of each RR interval to 250 ms before the next R peak), from just before the QRS to the end of
the T wave (80 ms before to 400 ms after each R peak), and over the whole record; the median over
a seeded sample of training records (folds 1-8) of each dataset; and the same for the median
sample-to-sample change in uV (how busy each segment is).

With ``--lattice``, also per lead over the whole records: how often two successive samples are
equal over how often they differ by +1 uV (about 1 for a signal that moves smoothly at the
microvolt scale; above 1 where it holds still on a coarser lattice), the shares of changes by 1-5
and by 6-10 uV, and the share of values that are multiples of 5 uV (0.2 without a lattice).

Usage: python tools/repeated_samples.py REAL_CACHE SYNTHETIC_CACHE [--records N] [--seed S] [--lattice]
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np

from runtime.dataset.cache import open_dataset
from train.synth.fidelity import comparison_parser, lead_ii_peaks, repeated_samples, training_records

QRS_TO_T_S = (-0.08, 0.4)
TP_START_RR, TP_END_BEFORE_R_S = 0.6, 0.25


def segment_masks(changes: int, peaks: np.ndarray, fs: float) -> dict[str, np.ndarray]:
    """Which of a lead's ``changes`` successive-sample changes lie in each segment around R ``peaks``
    (the whole record included)."""
    tp = np.zeros(changes, dtype=bool)
    qrs_to_t = np.zeros(changes, dtype=bool)
    for here, following in itertools.pairwise(peaks):
        qrs_to_t[max(0, here + int(QRS_TO_T_S[0] * fs)) : here + int(QRS_TO_T_S[1] * fs)] = True
        start, stop = here + int(TP_START_RR * (following - here)), following - int(TP_END_BEFORE_R_S * fs)
        tp[max(0, start) : max(0, stop)] = True
    return {"TP segment": tp, "QRS to T": qrs_to_t, "whole record": np.ones(changes, dtype=bool)}


def segment_shares(lead: np.ndarray, peaks: np.ndarray, fs: float) -> dict[str, float]:
    """Share of repeated samples of one lead ``[samples]`` in mV, by segment around R ``peaks``."""
    repeated = repeated_samples(lead)
    return {name: float(repeated[mask].mean()) if mask.any() else float("nan")
            for name, mask in segment_masks(len(repeated), peaks, fs).items()}  # fmt: skip


def segment_changes(lead: np.ndarray, peaks: np.ndarray, fs: float) -> dict[str, float]:
    """Median |sample-to-sample change| in uV of one lead ``[samples]`` in mV, by segment around R ``peaks``."""
    change = np.abs(np.diff(lead)) * 1000.0
    return {name: float(np.median(change[mask])) if mask.any() else float("nan")
            for name, mask in segment_masks(len(change), peaks, fs).items()}  # fmt: skip


class LatticeCell(NamedTuple):
    """One lead's ``--lattice`` figures: P(change 0) / P(change +1 uV), the shares of |changes| of
    1-5 and 6-10 uV, and the share of values on multiples of 5 uV."""

    repeats_over_ones: float
    small: float
    larger: float
    on_lattice: float

    def __str__(self) -> str:
        return f"{self.repeats_over_ones:.2f} / {self.small:.3f} / {self.larger:.3f} / {self.on_lattice:.3f}"


def lattice_row(signals: np.ndarray) -> list[LatticeCell]:
    """Per lead of ``signals`` ``[n, leads, samples]`` in mV, how far its stored values sit on a 5 uV
    lattice (``LatticeCell``; ``--lattice``)."""
    values = np.round(signals.astype(np.float64) * 1000.0).astype(np.int64)
    change = np.diff(values, axis=-1)
    cells = []
    for lead in range(values.shape[1]):
        size = np.abs(change[:, lead])
        repeats_over_ones = float(np.mean(size == 0)) / max(float(np.mean(change[:, lead] == 1)), 1e-12)
        small, larger = float(np.mean((size >= 1) & (size <= 5))), float(np.mean((size >= 6) & (size <= 10)))
        cells.append(LatticeCell(repeats_over_ones, small, larger, float(np.mean(values[:, lead] % 5 == 0))))
    return cells


def main() -> None:
    parser = comparison_parser(__doc__, records=800)
    parser.add_argument("--lattice", action="store_true", help="also the 5 uV lattice table, per lead")
    args = parser.parse_args()
    tables = {"share of repeated samples": (segment_shares, "{:.3f}"),
              "median sample-to-sample change, uV": (segment_changes, "{:.1f}")}  # fmt: skip
    rows: dict[str, list[str]] = {title: [] for title in tables}
    lattice: list[str] = []
    for name, path in (("real", args.real_cache), ("synthetic", args.synthetic_cache)):
        dataset = open_dataset(path)
        signals, _ = training_records(dataset, args.records, args.seed)
        leads = list(dataset.leads)
        lattice.append(f"| {name} | " + " | ".join(str(cell) for cell in lattice_row(signals)) + " |")
        found = [(record[leads.index("II")].astype(np.float64), peaks)
                 for record, peaks in zip(signals, lead_ii_peaks(signals, leads, float(dataset.fs)), strict=True)
                 if len(peaks) >= 3]  # fmt: skip
        for title, (measure, style) in tables.items():
            values = [measure(lead, peaks, float(dataset.fs)) for lead, peaks in found]
            medians = [float(np.nanmedian([value[key] for value in values])) for key in values[0]]
            rows[title].append(f"| {name} | " + " | ".join(style.format(median) for median in medians) + " |")
    for title, lines in rows.items():
        print(f"| lead II, {title} (median over records) | TP segment | QRS to T | whole record |\n|---|---|---|---|")
        print("\n".join(lines) + "\n")
    if args.lattice:
        print("| P(0) / P(+1 uV) / share of 1-5 uV / 6-10 uV changes / multiples of 5 uV | " + " | ".join(leads) + " |")
        print("|---" * (len(leads) + 1) + "|\n" + "\n".join(lattice))


if __name__ == "__main__":
    main()
