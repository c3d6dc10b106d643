"""Render a record from the fitted beat model (generator version 3): real-shaped beats, synthetic rhythm and noise.

A record's median beat and RR interval are drawn from its label combination's Gaussian
(``beat_model.BeatModel``), with coordinates shared in part by a patient's records.  The beat is
then laid at every R peak of a rhythm drawn as in version 2 (respiratory sinus arrhythmia, atrial
fibrillation without P waves, premature beats), its repolarization stretched with each beat's RR
interval (Bazett: with its square root), its amplitude modulated by respiration, and the
electrode noise of version 2 added where real noise enters: at the electrodes.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy.interpolate import CubicSpline

from train.synth.beat_model import INDEPENDENT_LEADS, BeatModel
from train.synth.cardiac import (
    RENDER_FS,
    beat_times,
    fibrillation_times,
    fibrillation_waves,
    leads_from_electrodes,
    with_premature_beats,
)
from train.synth.noise import electrode_noise

PATIENT_SHARE = 0.7  # share of the coordinates' variance that a patient's records have in common
BEAT_SPREAD = 1.0  # x the fitted between-record variation
RR_RANGE_S = (0.48, 1.5)
QRS_END_S = 0.08  # after the R peak: what follows (ST, T) stretches with the beat's RR interval
STRETCH_RANGE = (0.8, 1.25)
HEAD_TAPER_S = 0.04  # a beat fades in over its window's first 40 ms ...
TAIL_GAP_S = 0.22  # ... and out over the 40 ms before this long ahead of the next R peak
RESPIRATORY_GAIN_SD = 0.05  # per-lead amplitude modulation with breathing (log units)
BEAT_GAIN_SD = 0.02  # per beat and lead, independent
P_WAVE_S = (-0.25, -0.10)  # where atrial fibrillation removes the P wave, relative to the R peak
# dipole directions of fibrillatory waves reach the leads through these standard electrodes
_NEUTRAL_ELECTRODES = np.array([
    [-0.5, -0.2887, 0.0], [0.5, -0.2887, 0.0], [0.0, 0.5774, 0.0],
    *[[1.8 * np.cos(a), 0.1, 1.8 * np.sin(a)] for a in np.deg2rad([120.0, 95.0, 75.0, 55.0, 30.0, 5.0])],
])  # fmt: skip


@cache
def packaged_model() -> BeatModel:
    """The beat model that ships with the package (loaded once per process)."""
    return BeatModel.load()


def _smoothstep(x: np.ndarray) -> np.ndarray:
    clipped = np.clip(x, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * clipped)


def electrodes_from_leads(leads: np.ndarray) -> np.ndarray:
    """Electrode potentials ``[9, n]`` (RA, LA, LL, V1..V6, RA as reference) that give these leads
    I, II, V1..V6 ``[8, n]`` back through ``leads_from_electrodes``."""
    lead_i, lead_ii, chest = leads[0], leads[1], leads[2:]
    wct = (lead_i + lead_ii) / 3.0
    return np.vstack([np.zeros_like(lead_i), lead_i, lead_ii, chest + wct])


def lay_beats(
    beat: np.ndarray, window_s: tuple[float, float], fs: int, times: np.ndarray, rrs: np.ndarray,
    record_rr: float, gains: np.ndarray, n: int, out_fs: int, no_p: bool = False,
) -> np.ndarray:  # fmt: skip
    """The leads ``[leads, n]`` at ``out_fs`` of beats ``beat[leads, window]`` (sampled at ``fs`` over
    ``window_s`` around the R peak) placed at R times ``times``, each stretched after the QRS by
    its RR ``rrs`` against ``record_rr`` and scaled per lead by ``gains[beats, leads]``."""
    start, stop = window_s
    grid = start + np.arange(beat.shape[1]) / fs
    template = beat.copy()
    if no_p:
        rise = _smoothstep((grid - P_WAVE_S[0]) / 0.02) * (1.0 - _smoothstep((grid - P_WAVE_S[1]) / 0.02))
        template *= 1.0 - rise
    spline = CubicSpline(grid, template, axis=1)
    t = np.arange(n) / out_fs
    signal = np.zeros((beat.shape[0], n))
    for b, (r_time, rr) in enumerate(zip(times, rrs, strict=True)):
        end = min(stop, rr - TAIL_GAP_S)
        lo, hi = max(0, int(np.ceil((r_time + start) * out_fs))), min(n, int(np.floor((r_time + end) * out_fs)) + 1)
        if hi <= lo:
            continue
        tau = t[lo:hi] - r_time
        stretch = float(np.clip(np.sqrt(record_rr / rr), *STRETCH_RANGE))
        warped = np.where(tau > QRS_END_S, QRS_END_S + (tau - QRS_END_S) * stretch, tau)
        weight = _smoothstep((tau - start) / HEAD_TAPER_S) * _smoothstep((end - tau) / HEAD_TAPER_S)
        weight = weight * (warped <= stop)
        signal[:, lo:hi] += gains[b][:, None] * spline(np.clip(warped, start, stop)) * weight[None, :]
    return signal


def render_fitted_record(
    classes: set[str], patient_index: int, ecg_id: int, seed: int, fibrillation_rate: float, premature_rate: float,
    model: BeatModel | None = None, seconds: int = 10,
) -> tuple[np.ndarray, dict[str, str], float, float]:  # fmt: skip
    """One record at ``RENDER_FS``: leads ``[12, seconds * RENDER_FS]`` in mV, quality flags, heart
    rate and frontal QRS axis, for a record carrying the superclasses ``classes``."""
    model = model or packaged_model()
    dims = model.cholesky.shape[-1]
    patient = np.random.default_rng([seed, 12, patient_index]).standard_normal(dims)
    rng = np.random.default_rng([seed, 13, ecg_id])
    coordinates = np.sqrt(PATIENT_SHARE) * patient + np.sqrt(1.0 - PATIENT_SHARE) * rng.standard_normal(dims)
    beat, record_rr = model.sample(model.combination_index(classes), coordinates, BEAT_SPREAD)
    record_rr = float(np.clip(record_rr, *RR_RANGE_S))
    heart_rate = 60.0 / record_rr
    fibrillation = rng.random() < fibrillation_rate
    if fibrillation:
        times, rrs = fibrillation_times(rng, heart_rate, seconds)
    else:
        times, rrs = beat_times(rng, heart_rate, seconds)
        if rng.random() < premature_rate:
            times, rrs = with_premature_beats(rng, times, rrs)
    leads_count = len(INDEPENDENT_LEADS)
    breathing = rng.uniform(0.18, 0.3)
    phase = rng.uniform(0.0, 2.0 * np.pi)
    depth = rng.normal(0.0, RESPIRATORY_GAIN_SD, size=leads_count)
    gains = np.exp(np.sin(2 * np.pi * breathing * times + phase)[:, None] * depth[None, :]
                   + rng.normal(0.0, BEAT_GAIN_SD, size=(len(times), leads_count)))  # fmt: skip
    n = seconds * RENDER_FS
    independent = lay_beats(beat, model.window_s, model.fs, times, rrs, record_rr, gains, n, RENDER_FS, fibrillation)
    potentials = electrodes_from_leads(independent)
    if fibrillation:
        potentials += _NEUTRAL_ELECTRODES @ fibrillation_waves(rng, n, RENDER_FS)
    noise, flags = electrode_noise(rng, potentials.shape[0], n, RENDER_FS)
    leads = leads_from_electrodes(potentials + noise)
    lead_i, lead_ii = beat[0], beat[1]
    axis = float(np.degrees(np.arctan2((lead_ii - lead_i / 2).sum(), lead_i.sum())))
    return leads, flags, heart_rate, axis
