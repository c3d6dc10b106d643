"""Fit generator version 3's beat model (train/synth/beat_model.py) to real PTB-XL's training folds.

Reads every training record (folds 1-8) of a prepared real PTB-XL cache, takes each record's
median beat in the eight independent leads (aligned to a fifth of a sample), its median RR
interval and a few single beats, and fits a Gaussian mixture per label combination in a shared
principal-component basis, plus the beat-to-beat variation.  Validation and test folds never feed it.
Also fits the noise model (train/synth/noise_model.py) to the same records' residuals.  Writes
both atomically (default: the packaged train/synth/beat_model.npz and noise_model.npz) and prints
a summary.  About 2.7 minutes on 2 cores.

Usage: python tools/fit_beat_model.py REAL_CACHE [--out PATH] [--noise-out PATH] [--components K] [--min-records N]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import numpy as np

from runtime.atomic import atomic_write_bytes
from runtime.dataset.cache import open_dataset
from runtime.progress import Progress
from train.synth.beat_model import (
    COMPONENTS,
    INDEPENDENT_LEADS,
    MIN_COMBINATION_RECORDS,
    MODEL_PATH,
    NOISE_MODEL_PATH,
    BeatModel,
    fit_beat_model,
    independent_lead_indices,
    record_beats,
)
from train.synth.noise_model import (
    CYCLE_BINS,
    NoiseModel,
    burstiness,
    envelope_correlation,
    fit_draw,
    fit_noise_model,
    record_residuals,
)

CHUNK = 1000
SUMMARY_PHASES = {
    "ST-T": (0.2, 0.45),
    "TP": (0.45, 0.75),
    "P": (0.8, 0.9),
}  # of the RR interval, for the printed summary


def mean_envelope_correlation(noise: NoiseModel, residuals: np.ndarray, weights: np.ndarray,
                              r_times: list[np.ndarray]) -> dict[str, float]:  # fmt: skip
    """The mean over lead pairs of ``noise_model.envelope_correlation``: of the residuals, and of
    the noise records of ``noise_model.fit_draw`` (seed 1, not the calibration's 0)."""
    drawn = fit_draw(noise, r_times, seed=1)
    off_diagonal = ~np.eye(residuals.shape[1], dtype=bool)
    return {"residuals": round(float(envelope_correlation(residuals, weights)[off_diagonal].mean()), 3),
            "model": round(float(envelope_correlation(drawn.records, drawn.weights)[off_diagonal].mean()), 3)}  # fmt: skip


def noise_summary(model: BeatModel, noise: NoiseModel, residuals: np.ndarray, weights: np.ndarray) -> dict[str, Any]:
    """What the fit found beyond the beats' shapes: how unevenly median beats carry their detail
    (energy quantiles over all records and the median of each class's records alone, in units of the
    mean), how bursty the residuals are between QRS complexes
    (``noise_model.burstiness``; Gaussian noise: 1.48) and the burst spread fitted to it, and per
    lead the cardiac cycle's gain in the TP segment over that on the P wave and the high band's own gain
    over the ST segment and T wave (``SUMMARY_PHASES``)."""
    energy = model.detail_scales**2  # [components, levels]
    median = energy[:, energy.shape[1] // 2]
    by_class = {}
    for index, combination in enumerate(model.combinations):
        if combination.sum() == 1:  # the records of one class alone: the count-weighted median of its components
            members = np.flatnonzero(model.component_of == index)
            shares = model.component_counts[members] / model.component_counts[members].sum()
            by_class[model.classes[int(np.argmax(combination))]] = round(float(shares @ median[members]), 3)
    finite = np.isfinite(residuals).all(axis=(1, 2))
    between = weights[finite][:, 1:] * weights[finite][:, :-1] > 0.99
    bins = {name: slice(int(low * CYCLE_BINS), int(high * CYCLE_BINS)) for name, (low, high) in SUMMARY_PHASES.items()}
    tp_over_p = noise.cycle_gain[:, bins["TP"]].mean(axis=1) / noise.cycle_gain[:, bins["P"]].mean(axis=1)
    pooled = np.repeat(energy, model.component_counts, axis=0)  # every component's quantiles, as often as its records
    return {"detail_energy": {"p50": round(float(np.quantile(pooled, 0.5)), 3), "p99": round(float(np.quantile(pooled, 0.99)), 2),
                              "median_by_class": by_class},
            "residual_burstiness": round(burstiness(residuals[finite], between), 3),
            "burst_sd": round(float(noise.burst_sd[0]), 3),
            "cycle_gain_tp_over_p": dict(zip(INDEPENDENT_LEADS, np.round(tp_over_p, 2).tolist(), strict=True)),
            "high_cycle_gain_st_t": dict(zip(INDEPENDENT_LEADS, np.round(noise.high_cycle_gain[:, bins["ST-T"]].mean(axis=1), 2).tolist(),
                                             strict=True))}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("real_cache")
    parser.add_argument("--out", default=str(MODEL_PATH))
    parser.add_argument("--noise-out", default=str(NOISE_MODEL_PATH))
    parser.add_argument("--components", type=int, default=COMPONENTS)
    parser.add_argument("--min-records", type=int, default=MIN_COMBINATION_RECORDS)
    args = parser.parse_args()
    started = time.perf_counter()
    dataset = open_dataset(args.real_cache)
    indices = dataset.indices("train")
    beats, log_rr, residuals, weights, deviations, means = [], [], [], [], [], []
    r_times: list[np.ndarray] = []
    chosen = independent_lead_indices(dataset.leads)
    bar = Progress(len(indices), "median beats of the training folds")
    for start in range(0, len(indices), CHUNK):
        chunk = indices[start : start + CHUNK]
        signals = dataset.millivolts(chunk)
        found = record_beats(signals, dataset.leads, dataset.fs)
        beats.append(found.flat())
        log_rr.append(found.log_rr)
        deviations.append(found.deviations)
        residual, weight = record_residuals(signals[:, chosen], found, dataset.fs)
        residuals.append(residual.astype(np.float32))
        weights.append(weight.astype(np.float32))
        means.append(signals[:, chosen].mean(axis=-1))
        r_times += found.r_times
        bar.update(len(chunk))
    bar.close()
    source = {"dataset": dataset.manifest.get("name"), "content_hash": dataset.manifest.get("content_hash"),
              "folds": "1-8"}  # fmt: skip
    model = fit_beat_model(np.concatenate(beats), np.concatenate(log_rr), np.concatenate(deviations), np.asarray(dataset.labels[indices]),
                           dataset.classes, dataset.fs, source, args.components, args.min_records)  # fmt: skip
    all_residuals, all_weights = np.concatenate(residuals), np.concatenate(weights)
    noise = fit_noise_model(all_residuals, all_weights, np.concatenate(means), dataset.fs, r_times=r_times)
    atomic_write_bytes(args.out, model.to_bytes())
    atomic_write_bytes(args.noise_out, noise.to_bytes())
    combos = {"+".join(model.combination_classes(i)): int(n) for i, n in enumerate(model.counts)}
    print(json.dumps({"out": args.out, **model.source, "combinations": combos,
                      **noise_summary(model, noise, all_residuals, all_weights),
                      "high_band_envelope_correlation": mean_envelope_correlation(noise, all_residuals, all_weights, r_times),
                      "seconds": round(time.perf_counter() - started, 1)}, indent=2))  # fmt: skip
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
