"""How much do beats differ from their record's median beat? Real against synthetic training records.

For seeded samples of training records of each (folds 1-8 of the real cache), every record
band-passed (``--band``, default 0.5-15 Hz, where round 11's probes put the discriminator's cue), its
beats cut ``BEAT_WINDOW_S`` around the lead-II R peaks (``fidelity.beat_windows``), and each beat
less the record's median beat: per lead and phase of the beat (``PHASES_S``), the median over the
record's beats of that difference's root mean square, then its median over records, in uV, and the
synthetic records' over the real ones'.  What does not repeat from beat to beat: beat-to-beat
variation and noise together.

Usage: python tools/beat_to_beat.py REAL_CACHE SYNTHETIC_CACHE [--records N] [--seed S] [--band LOW,HIGH]
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

from runtime.dataset.cache import open_dataset
from train.synth.fidelity import BEAT_WINDOW_S, beat_windows, comparison_parser, lead_ii_peaks, training_records

PHASES_S = {"P-PR": (-0.25, -0.05), "QRS": (-0.05, 0.08), "ST-T": (0.08, 0.45), "after T": (0.45, 0.6)}
MIN_BEATS = 5  # records with fewer whole beats are left out


def beat_deviations(
    signals: np.ndarray, leads: list[str], fs: float, band: tuple[float, float]
) -> dict[str, np.ndarray]:
    """Per phase of ``PHASES_S``, ``[records, leads]``: the median over each record's beats of the root
    mean square (mV) of the beat less the record's median beat, ``signals`` ``[n, leads, samples]``
    band-passed to ``band`` (Hz) first; records with fewer than ``MIN_BEATS`` whole beats left out.

    The band-pass is a zero-phase second-order Butterworth, not the report's ``fidelity.band_limited``:
    that cuts the spectrum of the whole record at the band's edges, and its ringing carries each QRS
    into every phase of the beats around it (with it, real records' P-PR reads 15-25 uV instead of
    11-14, and the phases' ratios run closer together), where a per-phase figure needs a filter
    that stays local."""
    filtered = sosfiltfilt(butter(2, band, btype="band", fs=fs, output="sos"), signals, axis=-1)
    grid = BEAT_WINDOW_S[0] + np.arange(int(round((BEAT_WINDOW_S[1] - BEAT_WINDOW_S[0]) * fs))) / fs
    found: dict[str, list[np.ndarray]] = {phase: [] for phase in PHASES_S}
    for record, peaks in zip(filtered, lead_ii_peaks(signals, leads, fs), strict=True):
        windows = beat_windows(record, peaks, fs)
        if len(windows) < MIN_BEATS:
            continue
        deviation = windows - np.median(windows, axis=0)
        for phase, (start, stop) in PHASES_S.items():
            inside = (grid >= start) & (grid < stop)
            found[phase].append(np.median(np.sqrt(np.mean(deviation[:, :, inside] ** 2, axis=2)), axis=0))
    return {phase: np.array(rows).reshape(-1, signals.shape[1]) for phase, rows in found.items()}


def main() -> None:
    parser = comparison_parser(__doc__, records=800)
    parser.add_argument("--band", default="0.5,15", help="LOW,HIGH in Hz (default 0.5,15)")
    args = parser.parse_args()
    try:
        band = tuple(float(value) for value in args.band.split(","))
    except ValueError:
        band = ()
    if len(band) != 2 or not 0.0 < band[0] < band[1]:
        raise SystemExit(f"--band {args.band!r}: give LOW,HIGH in Hz with 0 < LOW < HIGH, e.g. 0.5,15")
    figures = {}
    for name, path in (("real", args.real_cache), ("synthetic", args.synthetic_cache)):
        dataset = open_dataset(path)
        if band[1] >= dataset.fs / 2:
            raise SystemExit(f"--band {args.band!r}: HIGH must lie below {dataset.fs / 2:g} Hz, half {path}'s rate")
        signals, _ = training_records(dataset, args.records, args.seed)
        deviations = beat_deviations(signals, list(dataset.leads), dataset.fs, (band[0], band[1]))
        if not len(deviations["QRS"]):
            raise SystemExit(f"{path}: no record has {MIN_BEATS} whole beats; is it a prepared PTB-XL cache?")
        figures[name] = {phase: np.median(rows, axis=0) * 1000.0 for phase, rows in deviations.items()}
    leads = list(open_dataset(args.real_cache).leads)
    print(f"beat less its record's median beat, {band[0]:g}-{band[1]:g} Hz, uV (median over beats, then records)")
    print("| phase | records | " + " | ".join(leads) + " |\n|---|---|" + "---|" * len(leads))
    for phase in PHASES_S:
        real, synthetic = figures["real"][phase], figures["synthetic"][phase]
        print(f"| {phase} | real | " + " | ".join(f"{value:.0f}" for value in real) + " |")
        print(
            f"| {phase} | synthetic / real | "
            + " | ".join(f"{s / r:.2f}" for s, r in zip(synthetic, real, strict=True))
            + " |"
        )


if __name__ == "__main__":
    main()
