"""Fit the synthetic generator's typical normal beat (cardiac.BeatShape) to real PTB-XL.

The target is the median beat of real NORM-only records of the training folds (1-8), computed
exactly as ``train synth-report`` does (train.synth.fidelity: median beat of each record around
its lead-II R peaks, levelled at the PR segment, then the median over records).  The synthetic
side renders the same seeded NORM-only records for every candidate shape (common random numbers,
so the loss is a deterministic function of the shape) and Nelder-Mead minimizes the mean squared
difference over the 12 leads, the T wave counted ``T_WEIGHT`` times (it is small but carries the
repolarization findings).  A few minutes on one core.  Only a handful of numbers are fitted; no
real signal enters the generator.

Usage: python tools/fit_normal_beat.py REAL_CACHE [--evaluations 500] [--out fit.json]
Prints the fitted shape as a ``BeatShape(...)`` literal for train/synth/cardiac.py.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from runtime.dataset.cache import open_dataset
from runtime.leads import STANDARD_LEADS
from runtime.signal import resample
from train.synth.cardiac import NORMAL_SHAPE, RENDER_FS, BeatShape
from train.synth.fidelity import (
    class_median_beats,
    lead_ii_peaks,
    median_beats,
    real_records_parser,
    training_records,
    wave_window,
)
from train.synth.generate import plan_dataset, render_record

T_WEIGHT = 3.0
SYNTHETIC_RECORDS = 250
# fitted fields and the first step Nelder-Mead takes along each (its simplex)
STEPS = {"r_amp": 0.15, "r_z": 0.1, "s_amp": 0.1, "s_x": 0.15, "s_y": 0.15, "s_z": 0.15, "q_amp": 0.05,
         "t_amp": 0.1, "t_z": 0.3, "t_axis_offset_deg": 15.0, "p_amp": 0.04}  # fmt: skip


def to_vector(shape: BeatShape) -> np.ndarray:
    x, y, z = shape.s_direction
    fields = {**dataclasses.asdict(shape), "s_x": x, "s_y": y, "s_z": z}
    return np.array([fields[name] for name in STEPS], dtype=np.float64)


def to_shape(vector: np.ndarray) -> BeatShape:
    values = dict(zip(STEPS, (round(float(v), 4) for v in vector), strict=True))
    direction = (values.pop("s_x"), values.pop("s_y"), values.pop("s_z"))
    return BeatShape(**values, s_direction=direction)


def norm_beat(signals: np.ndarray, labels: np.ndarray, leads: list[str], classes: list[str], fs: float) -> np.ndarray:
    """The median beat of the NORM-only records, exactly as train synth-report computes it."""
    beats = median_beats(signals, lead_ii_peaks(signals, leads, fs), fs)
    return class_median_beats(beats, labels, classes)["NORM"]


def real_norm_beat(cache: str, records: int, seed: int) -> np.ndarray:
    """The median beat of the real NORM-only training records."""
    dataset = open_dataset(cache)
    signals, labels = training_records(dataset, records, seed)
    return norm_beat(signals, labels, list(dataset.leads), list(dataset.classes), float(dataset.fs))


def synthetic_norm_beat(shape: BeatShape, plans: list, seed: int, fs: int) -> np.ndarray:
    """The median beat of the seeded synthetic NORM-only records rendered with ``shape``."""
    signals = np.stack([resample(render_record(plan, seed, shape=shape)[0], RENDER_FS, fs) for plan in plans])
    return norm_beat(signals, np.ones((len(plans), 1)), list(STANDARD_LEADS), ["NORM"], fs)


def main() -> None:
    parser = real_records_parser(__doc__, records=4000)
    parser.add_argument("--evaluations", type=int, default=500)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    fs = 100
    target = real_norm_beat(args.real_cache, args.records, args.seed)
    plans = [plan for plan in plan_dataset(4 * SYNTHETIC_RECORDS, args.seed + 7)
             if [code for code, _ in plan.true_codes] == ["NORM"]][:SYNTHETIC_RECORDS]  # fmt: skip
    weight = np.ones(target.shape[-1])
    weight[wave_window("T", fs)] = T_WEIGHT  # the report's own T window

    def loss(vector: np.ndarray) -> float:
        beat = synthetic_norm_beat(to_shape(vector), plans, args.seed, fs)
        return float((((beat - target) ** 2) * weight).mean())

    began = time.time()
    x0 = to_vector(NORMAL_SHAPE)
    simplex = np.vstack([x0] + [x0 + np.eye(len(x0))[i] * step for i, step in enumerate(STEPS.values())])
    before = loss(x0)
    result = minimize(loss, x0, method="Nelder-Mead",
                      options={"maxfev": args.evaluations, "initial_simplex": simplex, "xatol": 1e-3, "fatol": 1e-8})  # fmt: skip
    fitted = to_shape(result.x)
    summary = {"loss_before": before, "loss_after": float(result.fun), "evaluations": int(result.nfev),
               "seconds": round(time.time() - began, 1), "shape": dataclasses.asdict(fitted)}  # fmt: skip
    print(json.dumps(summary, indent=2))
    print(repr(fitted))
    if args.out:
        args.out.write_text(json.dumps(summary, indent=2) + "\n")


if __name__ == "__main__":
    main()
