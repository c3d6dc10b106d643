"""Where does real PTB-XL's high-frequency QRS power come from? A decomposition on the training folds.

For a seeded sample of real training records (folds 1-8), the 30-50 Hz power inside the QRS
windows (``fidelity.QRS_WINDOW_S`` around each R peak, as ``train synth-report``'s
``high_band_power``) of, per independent lead:

* the record itself;
* the record's own median beat (``beat_model.record_beats``) laid back at its own R peaks
  (``beat_model.lay_beats``, the generator's renderer): what a median beat can carry;
* the same median beat reduced to the packaged beat model's principal components: what the
  beat model's mixture can carry.

The gaps between the rows are what single-beat variation and the detail components must supply.

Usage: python tools/qrs_high_band.py REAL_CACHE [--records N] [--seed S]
"""

from __future__ import annotations

import numpy as np

from runtime.dataset.cache import open_dataset
from train.synth.beat_model import (
    INDEPENDENT_LEADS,
    BeatModel,
    found_rrs,
    independent_lead_indices,
    lay_beats,
    record_beats,
)
from train.synth.fidelity import BEAT_WINDOW_S, high_band_split, real_records_parser, training_records


def qrs_band_power(signal: np.ndarray, r_times: np.ndarray, fs: float) -> np.ndarray:
    """Per lead, the ``HIGH_BAND_HZ`` power of ``signal`` ``[leads, samples]`` inside the QRS windows
    around ``r_times`` (seconds), in uV^2 (``fidelity.high_band_split``, as the report measures it)."""
    return high_band_split(signal[None], [r_times], fs)[0][0] * 1e6


def main() -> None:
    args = real_records_parser(__doc__, records=400).parse_args()
    dataset = open_dataset(args.real_cache)
    signals, _ = training_records(dataset, args.records, args.seed)
    fs = int(dataset.fs)
    found = record_beats(signals, dataset.leads, fs)
    model = BeatModel.load()
    centre = model.means[:, :-1].mean(axis=0)
    rows: dict[str, list[np.ndarray]] = {
        "record": [],
        "its median beat, laid": [],
        "the median beat in the model's components": [],
    }
    chosen = independent_lead_indices(dataset.leads)
    for record, times, beat in zip(signals[:, chosen], found.r_times, found.beats, strict=True):
        if not np.isfinite(beat).all() or len(times) < 3:
            continue
        rrs = found_rrs(times)
        flat = beat.reshape(-1)
        reduced = (centre + ((flat - centre) @ model.basis.T) @ model.basis).reshape(beat.shape)
        rows["record"].append(qrs_band_power(record, times, fs))
        for name, shape in (("its median beat, laid", beat), ("the median beat in the model's components", reduced)):
            laid = lay_beats(shape, BEAT_WINDOW_S, fs, times, rrs, np.ones((len(times), len(INDEPENDENT_LEADS))),
                             record.shape[-1], fs)  # fmt: skip
            rows[name].append(qrs_band_power(laid, times, fs))
    print(f"30-50 Hz power inside the QRS, uV^2, median over {len(rows['record'])} real training records")
    print("| | " + " | ".join(INDEPENDENT_LEADS) + " |\n|---|" + "---|" * len(INDEPENDENT_LEADS))
    for name, values in rows.items():
        print(f"| {name} | " + " | ".join(f"{v:.0f}" for v in np.median(np.array(values), axis=0)) + " |")


if __name__ == "__main__":
    main()
