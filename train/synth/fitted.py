"""Render a record from the fitted beat model (generator version 3): real-shaped beats, synthetic rhythm and noise.

A record's median beat and RR interval are drawn from its label combination's Gaussian mixture
(``beat_model.BeatModel``), with the component and part of the coordinates shared by a patient's
records.  The beat is then laid at every R peak of a rhythm (a sinus rhythm whose variability is fitted to
real records', ``sinus_times``; atrial fibrillation without P waves and premature beats as in
version 2), its ST-T the same whatever the beat's RR (``beat_model.QRS_END_S``), its shape varied a
little from beat to beat and its amplitude modulated by respiration, and the noise drawn from the spectra of real records'
residuals (``noise_model``); each lead's mean is then set as PTB-XL's are, near zero.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from runtime.signal import resample
from train.synth.beat_model import INDEPENDENT_LEADS, BeatModel, lay_beats
from train.synth.cardiac import (
    LIMB_ELECTRODES,
    PRECORDIAL_ANGLES_DEG,
    beat_sequence,
    fibrillation_times,
    fibrillation_waves,
    leads_from_electrodes,
    with_premature_beats,
)
from train.synth.noise_model import NoiseModel, quality_flags

PATIENT_SHARE = 0.7  # share of the coordinates' variance that a patient's records have in common
BEAT_SPREAD = 1.0  # x the fitted between-record variation
BEAT_VARIATION = 1.0  # x the fitted beat-to-beat variation around a record's median beat
RR_RANGE_S = (0.48, 1.5)
RESPIRATORY_GAIN_SD = 0.05  # per-lead amplitude modulation with breathing (log units)
BEAT_GAIN_SD = 0.02  # per beat and lead, independent
# Sinus rhythm: each RR interval is the record's mean RR times exp(breathing + slow wave + jitter), each part
# with a log-normal amplitude per record, (median, log standard deviation): respiratory sinus arrhythmia at
# SINUS_BREATHING_HZ, a slow wave at SINUS_SLOW_HZ (Mayer waves, drift) and beat-to-beat jitter. Chosen by
# a one-off search (RR series drawn with this generator's fibrillation and premature-beat rates), then set
# over three renders of 3,000 records so that their SDNN, RMSSD and lag-1 autocorrelation follow real
# training records' from p5 to p90 (tools/rhythm_statistics.py). (varied_beats' amplitude sway draws a
# breathing rate of its own.) Version 2's rhythm
# (cardiac.beat_times: 1-5% breathing, 1.5% jitter for every record) never went below an RMSSD of about
# 15 ms, where one real record in ten stays under 7.3 ms
SINUS_BREATHING, SINUS_SLOW, SINUS_JITTER = (0.018, 0.8), (0.011, 0.9), (0.0035, 0.6)
SINUS_BREATHING_HZ, SINUS_SLOW_HZ = (0.18, 0.3), (0.04, 0.15)
# fibrillatory waves (version 2's atrial dipole, cardiac.fibrillation_waves) reach the electrodes RA, LA, LL,
# V1-V6 through this one fixed set: version 2's limb vectors and precordial angles with a single gain, since
# version 3 has no per-patient electrode placement (its beats come with the placement of real records)
FIBRILLATION_GAIN, FIBRILLATION_Y = 1.8, 0.1
_PRECORDIAL = np.deg2rad(PRECORDIAL_ANGLES_DEG)
_NEUTRAL_ELECTRODES = np.vstack([
    *(LIMB_ELECTRODES[name] for name in ("RA", "LA", "LL")),
    np.stack([FIBRILLATION_GAIN * np.cos(_PRECORDIAL), np.full(6, FIBRILLATION_Y), FIBRILLATION_GAIN * np.sin(_PRECORDIAL)],
             axis=1),
])  # fmt: skip


@cache
def packaged_model() -> BeatModel:
    """The beat model that ships with the package (loaded once per process)."""
    return BeatModel.load()


@cache
def packaged_noise() -> NoiseModel:
    """The noise model that ships with the package (loaded once per process)."""
    return NoiseModel.load()


def electrodes_from_leads(leads: np.ndarray) -> np.ndarray:
    """Electrode potentials ``[9, n]`` (RA, LA, LL, V1..V6, RA as reference) that give these leads
    I, II, V1..V6 ``[8, n]`` back through ``leads_from_electrodes``."""
    lead_i, lead_ii, chest = leads[0], leads[1], leads[2:]
    wct = (lead_i + lead_ii) / 3.0
    return np.vstack([np.zeros_like(lead_i), lead_i, lead_ii, chest + wct])


def sinus_times(rng: np.random.Generator, heart_rate: float, seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """R-peak times (s) of a sinus rhythm at ``heart_rate`` (bpm) from before the record to past its
    end, and each beat's RR interval: ``SINUS_BREATHING``, ``SINUS_SLOW`` and ``SINUS_JITTER``."""
    rr_mean = 60.0 / heart_rate
    breathing, slow, jitter = (median * np.exp(spread * rng.standard_normal())
                               for median, spread in (SINUS_BREATHING, SINUS_SLOW, SINUS_JITTER))  # fmt: skip
    breathing_hz, slow_hz = rng.uniform(*SINUS_BREATHING_HZ), rng.uniform(*SINUS_SLOW_HZ)
    breathing_phase, slow_phase = rng.uniform(0.0, 2.0 * np.pi, size=2)
    return beat_sequence(rng, rr_mean, seconds, lambda t: rr_mean * float(np.exp(
        breathing * np.sin(2 * np.pi * breathing_hz * t + breathing_phase)
        + slow * np.sin(2 * np.pi * slow_hz * t + slow_phase) + jitter * rng.standard_normal())))  # fmt: skip


def varied_beats(model: BeatModel, rng: np.random.Generator, beat: np.ndarray, times: np.ndarray, rrs: np.ndarray,
                 samples: int, fibrillation: bool = False) -> np.ndarray:  # fmt: skip
    """The median ``beat`` ``[leads, window]`` laid at ``times`` (``beat_model.lay_beats``) as every
    record of version 3 lays it: its amplitude modulated by breathing (one rate and phase, a depth
    per lead) and by a little independent jitter per beat and lead, its shape varied from beat to
    beat by the fitted beat-to-beat spread; ``[leads, samples]`` in mV at the model's rate."""
    leads_count = len(INDEPENDENT_LEADS)
    breathing = rng.uniform(0.18, 0.3)
    phase = rng.uniform(0.0, 2.0 * np.pi)
    depth = rng.normal(0.0, RESPIRATORY_GAIN_SD, size=leads_count)
    gains = np.exp(np.sin(2 * np.pi * breathing * times + phase)[:, None] * depth[None, :]
                   + rng.normal(0.0, BEAT_GAIN_SD, size=(len(times), leads_count)))  # fmt: skip
    variation = BEAT_VARIATION * model.beat_variation(rng, len(times))
    return lay_beats(beat, model.window_s, model.fs, times, rrs, gains, samples, model.fs, fibrillation, variation)


def render_fitted_record(
    classes: set[str], patient_index: int, ecg_id: int, seed: int, fibrillation_rate: float, premature_rate: float,
    model: BeatModel | None = None, noise_model: NoiseModel | None = None, seconds: int = 10,
) -> tuple[np.ndarray, dict[str, str], float, float]:  # fmt: skip
    """One record at the models' own rate (100 Hz, that of the records they were fitted to): leads
    ``[12, seconds * fs]`` in mV, quality flags, heart rate and frontal QRS axis, for a record
    carrying the superclasses ``classes``."""
    model = model or packaged_model()
    noise_model = noise_model or packaged_noise()
    dims = model.dims
    patient = np.random.default_rng([seed, 12, patient_index]).standard_normal(dims)
    rng = np.random.default_rng([seed, 13, ecg_id])
    coordinates = np.sqrt(PATIENT_SHARE) * patient + np.sqrt(1.0 - PATIENT_SHARE) * rng.standard_normal(dims)
    pick = float(np.random.default_rng([seed, 14, patient_index]).random())  # a patient keeps their component
    beat, record_rr = model.sample(model.combination_index(classes), coordinates, pick, BEAT_SPREAD)
    record_rr = float(np.clip(record_rr, *RR_RANGE_S))
    heart_rate = 60.0 / record_rr
    fibrillation = rng.random() < fibrillation_rate
    if fibrillation:
        times, rrs = fibrillation_times(rng, heart_rate, seconds)
    else:
        times, rrs = sinus_times(rng, heart_rate, seconds)
        if rng.random() < premature_rate:
            times, rrs = with_premature_beats(rng, times, rrs)
    fs = model.fs
    n = seconds * fs
    independent = varied_beats(model, rng, beat, times, rrs, n, fibrillation)
    noise = noise_model.sample(rng, times)
    flags = quality_flags(noise, noise_model.fs)
    independent += noise if noise_model.fs == fs else resample(noise, noise_model.fs, fs)[:, :n]
    independent += noise_model.offsets(rng)[:, None] - independent.mean(axis=1, keepdims=True)
    potentials = electrodes_from_leads(independent)
    if fibrillation:
        potentials += _NEUTRAL_ELECTRODES @ fibrillation_waves(rng, n, fs)
    leads = leads_from_electrodes(potentials)
    lead_i, lead_ii = beat[0], beat[1]
    axis = float(np.degrees(np.arctan2((lead_ii - lead_i / 2).sum(), lead_i.sum())))
    return leads, flags, heart_rate, axis
