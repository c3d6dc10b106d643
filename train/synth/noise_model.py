"""A stationary Gaussian model of what real PTB-XL records carry besides their median beat (generator version 3).

Version 2's electrode noise (white muscle noise, sinusoidal baseline wander, 50 Hz powerline)
leaves real records with about ten times its power at 25-43 Hz and none of PTB-XL's low-pass
above 43 Hz (``train synth-report``'s spectra).  Here every training record's *residual* (the
record minus its own median beat laid at its own R peaks, ``beat_model.lay_beats``: baseline
wander, muscle and electrode noise, beat-to-beat variation, and the recording chain's filters) is
summarized, in the eight independent leads, by

* its log power spectrum per lead, smoothed over ``SMOOTHING_BINS`` frequency bins: the mean over
  records and the ``COMPONENTS`` principal directions in which records differ (noisy and quiet
  records, drifting and steady baselines), with their spreads;
* the correlation between leads (noise enters at the electrodes and so reaches several leads);
* how far each lead's record mean strays from zero: PTB-XL stores its records with the mean of
  every lead removed, to within a few µV (the beats laid on a zero baseline have a mean of their
  own, 0.06 mV in lead II, which alone told real from synthetic records apart).

Sampling draws a record's spectrum from that Gaussian and shapes correlated white noise with it.
These are averages over thousands of records; no record's signal.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from runtime.errors import DataError
from train.synth.beat_model import (
    INDEPENDENT_LEADS,
    MODEL_CARD,
    NOISE_MODEL_PATH,
    RecordBeats,
    lay_beats,
    pack_arrays,
    smoothstep,
    unpack_arrays,
)
from train.synth.fidelity import BEAT_WINDOW_S, QRS_WINDOW_S

COMPONENTS = 8
# quality flags of the CSV (PTB-XL's columns), from the drawn noise: RMS in mV of a band of any lead
BASELINE_DRIFT_MV, STATIC_NOISE_MV = 0.15, 0.03
EXCLUSION_RAMP_S = 0.02  # the QRS window (fidelity.QRS_WINDOW_S) is left out of the spectra, with these ramps
FLAT_LEAD_MV = 0.002  # residual RMS below this: the lead was not recorded (left out of the fit)
SMOOTHING_BINS = 5


@dataclass(frozen=True)
class NoiseModel:
    """Per record, log power spectra ``[leads, bins]`` (a Gaussian over records) and lead correlation."""

    fs: int
    samples: int  # record length the spectra were measured on
    mean_log_power: np.ndarray  # [leads, bins]
    basis: np.ndarray  # [K, leads * bins], orthonormal
    spread: np.ndarray  # [K], standard deviation along each direction
    mixing: np.ndarray  # [leads, leads], Cholesky factor of the between-lead correlation
    offset_sd: np.ndarray  # [leads], robust standard deviation of a record's mean, mV

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """One record's noise ``[leads, samples]`` in mV at ``fs``."""
        coordinates = rng.standard_normal(len(self.spread)) * self.spread
        log_power = self.mean_log_power + (coordinates @ self.basis).reshape(self.mean_log_power.shape)
        white = self.mixing @ rng.standard_normal((self.mixing.shape[0], self.samples))
        spectrum = np.fft.rfft(white, axis=1) * np.sqrt(np.exp(log_power))
        spectrum[:, 0] = 0.0
        return np.fft.irfft(spectrum, n=self.samples, axis=1)

    def offsets(self, rng: np.random.Generator) -> np.ndarray:
        """One record's per-lead mean ``[leads]`` in mV (its leads' means are removed first)."""
        return rng.standard_normal(len(self.offset_sd)) * self.offset_sd

    def arrays(self) -> dict[str, np.ndarray]:
        return {"mean_log_power": self.mean_log_power, "basis": self.basis, "spread": self.spread,
                "mixing": self.mixing, "offset_sd": self.offset_sd}  # fmt: skip

    def to_bytes(self) -> bytes:
        header = {"fs": self.fs, "samples": self.samples, "leads": INDEPENDENT_LEADS, "card": MODEL_CARD}
        return pack_arrays(header, self.arrays())

    @classmethod
    def load(cls, path: str | Path = NOISE_MODEL_PATH) -> NoiseModel:
        """Read a model written by ``to_bytes`` (the packaged one by default)."""
        header, arrays = unpack_arrays(path, ("mean_log_power", "basis", "spread", "mixing", "offset_sd"))
        try:
            return cls(fs=int(header["fs"]), samples=int(header["samples"]), **arrays)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}: not a noise model ({exc}); refit it with tools/fit_beat_model.py") from None


def record_residuals(signals: np.ndarray, found: RecordBeats, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """(records ``[n, INDEPENDENT_LEADS, samples]`` minus their median beats laid at their own R
    peaks (``found``, from ``beat_model.record_beats``), NaN rows where no beat was found; weights
    ``[n, samples]`` that leave out each QRS complex, ``QRS_WINDOW_S`` around its R peak).

    Inside the QRS what is left is mostly the beat's own variation and the last fraction of a
    sample of misalignment on its steep edges, 10-100x what lies between beats, and no recording
    noise: the spectra are measured between QRS complexes."""
    residuals = np.full(signals.shape, np.nan)
    weights = np.ones((len(signals), signals.shape[-1]))
    t = np.arange(signals.shape[-1]) / fs
    for index, (record, times, beat) in enumerate(zip(signals, found.r_times, found.beats, strict=True)):
        if not np.isfinite(beat).all():
            continue
        rrs = np.diff(times, append=times[-1] + np.median(np.diff(times)))
        laid = lay_beats(beat, BEAT_WINDOW_S, int(fs), times, rrs, float(np.median(np.diff(times))),
                         np.ones((len(times), len(record))), record.shape[-1], int(fs))  # fmt: skip
        residuals[index] = record - laid
        for r_time in times:
            start, stop = r_time + QRS_WINDOW_S[0], r_time + QRS_WINDOW_S[1]
            inside = np.clip(np.minimum(t - start, stop - t) / EXCLUSION_RAMP_S, 0.0, 1.0)
            weights[index] *= 1.0 - smoothstep(inside)
    return residuals, weights


def smoothed_log_power(residuals: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Log periodogram ``[n, leads, bins]`` of residuals ``[n, leads, samples]`` seen through
    ``weights`` ``[n, samples]`` (power |rfft|^2 / samples, divided by the weights' mean square),
    averaged over ``SMOOTHING_BINS`` neighbouring bins."""
    windowed = residuals * weights[:, None, :]
    power = np.abs(np.fft.rfft(windowed, axis=-1)) ** 2 / residuals.shape[-1]
    power /= np.mean(weights**2, axis=-1)[:, None, None]
    kernel = np.ones(SMOOTHING_BINS) / SMOOTHING_BINS
    padded = np.pad(power, [(0, 0), (0, 0), (SMOOTHING_BINS // 2, SMOOTHING_BINS // 2)], mode="reflect")
    smoothed = np.apply_along_axis(lambda row: np.convolve(row, kernel, mode="valid"), -1, padded)
    return np.log(smoothed + 1e-12)


def fit_noise_model(residuals: np.ndarray, weights: np.ndarray, record_means: np.ndarray, fs: int,
                    components: int = COMPONENTS) -> NoiseModel:  # fmt: skip
    """Fit the spectra and lead correlation to residuals ``[n, leads, samples]`` seen through
    ``weights`` ``[n, samples]`` (``record_residuals``; NaN rows and flat leads left out), and the
    spread of the records' own means ``[n, leads]`` (robust: 1.4826 x the median absolute deviation
    from zero, so that the few records with a large offset do not set it)."""
    offset_sd = 1.4826 * np.median(np.abs(record_means), axis=0)
    keep = np.isfinite(residuals).all(axis=(1, 2))
    residuals, weights = residuals[keep], weights[keep]
    residuals = (
        residuals - (residuals * weights[:, None]).sum(axis=-1, keepdims=True) / weights.sum(axis=-1)[:, None, None]
    )
    windowed = residuals * weights[:, None, :]
    keep = (windowed.std(axis=-1) > FLAT_LEAD_MV).all(axis=1)  # a flat lead: no recording
    residuals, weights, windowed = residuals[keep], weights[keep], windowed[keep]
    log_power = smoothed_log_power(residuals, weights)
    flat = log_power.reshape(len(log_power), -1)
    mean = flat.mean(axis=0)
    _, singular, vt = np.linalg.svd(flat - mean, full_matrices=False)
    k = min(components, len(singular))
    normalized = windowed / windowed.std(axis=-1, keepdims=True)
    correlation = np.einsum("nlt,nmt->lm", normalized, normalized) / (len(windowed) * windowed.shape[-1])
    return NoiseModel(
        fs=int(fs),
        samples=int(residuals.shape[-1]),
        mean_log_power=mean.reshape(log_power.shape[1:]),
        basis=vt[:k],
        spread=singular[:k] / np.sqrt(len(flat) - 1),
        mixing=np.linalg.cholesky(correlation + 1e-6 * np.eye(len(correlation))),
        offset_sd=offset_sd,
    )


def quality_flags(noise: np.ndarray, fs: float) -> dict[str, str]:
    """PTB-XL-style flags for noise ``[leads, samples]``: baseline_drift (below 0.5 Hz) and
    static_noise (above 15 Hz) where a lead's RMS in that band exceeds the thresholds."""
    spectrum = np.fft.rfft(noise, axis=-1)
    frequencies = np.fft.rfftfreq(noise.shape[-1], 1.0 / fs)

    def band_rms(low: float, high: float) -> float:
        kept = np.where((frequencies >= low) & (frequencies < high), spectrum, 0.0)
        return float(np.sqrt((np.fft.irfft(kept, n=noise.shape[-1], axis=-1) ** 2).mean(axis=-1)).max())

    flags = {}
    if band_rms(0.0, 0.5) > BASELINE_DRIFT_MV:
        flags["baseline_drift"] = "alles"
    if band_rms(15.0, fs / 2 + 1) > STATIC_NOISE_MV:
        flags["static_noise"] = "alles"
    return flags
