"""A Gaussian model, with bursts, of what real PTB-XL records carry besides their median beat (generator version 3).

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
  own, 0.06 mV in lead II, which alone told real from synthetic records apart);
* how bursty the residuals are (``burst_sd``): at the same power, real records hold still for
  stretches and move a lot in others, where Gaussian noise is equally busy throughout; and how far
  the bursts of different leads go together (``burst_mixing``): muscle and electrode bursts are
  local, so neighbouring leads share more of them than distant ones;
* how busy they are at each phase of the cardiac cycle, per lead (``cycle_gain``): quiet in the
  TP segment, busier over the P and T waves, which vary from beat to beat;
* and, on top of that, how loud their part above ``HIGH_CYCLE_HZ`` is at each phase
  (``high_cycle_gain``): over the ST segment and the T wave the slow changes of the T wave make the
  residuals busy, but not their high band.

Sampling draws a record's spectrum from that Gaussian, shapes correlated white noise with it and
multiplies its part above ``BURST_LOW_HZ`` by the cycle's gain at the record's R peaks (its part above
``HIGH_CYCLE_HZ`` by the high band's gain too) and a slow modulation per lead (``in_bursts``).
These are averages over thousands of records; no record's signal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from runtime.errors import DataError
from train.synth.beat_model import (
    INDEPENDENT_LEADS,
    MODEL_CARD,
    NOISE_MODEL_PATH,
    RecordBeats,
    found_rrs,
    lay_beats,
    pack_arrays,
    smoothstep,
    unpack_arrays,
)
from train.synth.fidelity import BEAT_WINDOW_S, QRS_WINDOW_S

# principal components of the residuals' log spectra: the loud bands dominate the first few, and the few
# bins below 0.5 Hz (how much a record's baseline wanders, which varies a lot from record to record) kept
# much less than their real spread with 8
COMPONENTS = 32
# quality flags of the CSV (PTB-XL's columns), from the drawn noise: RMS in mV of a band of any lead
BASELINE_DRIFT_MV, STATIC_NOISE_MV = 0.15, 0.03
EXCLUSION_RAMP_S = 0.02  # the QRS window (fidelity.QRS_WINDOW_S) is left out of the spectra, with these ramps
FLAT_LEAD_MV = 0.002  # residual RMS below this: the lead was not recorded (left out of the fit)
SMOOTHING_BINS = 5
# Real residuals come in bursts: over a record, their sample-to-sample change has a root mean square about
# twice its median |change| (a Gaussian's: 1.48; tools/fit_beat_model.py prints it), quiet stretches and loud
# ones at the same power.  The noise
# above BURST_LOW_HZ (below it: baseline wander, which follows neither) is multiplied by
# exp(burst_sd * u - burst_sd^2), u a unit Gaussian process below BURST_BANDWIDTH_HZ (mean square 1, so
# the spectra stay as fitted); burst_sd is fitted to that ratio
BURST_LOW_HZ, BURST_BANDWIDTH_HZ = 1.0, 1.0
BURST_SD_GRID = np.linspace(0.0, 1.5, 31)
BURST_FIT_RECORDS = 300
BURST_FIT_R_TIMES = np.arange(0.4, 10.0, 0.8)  # a steady 75 bpm
# Real bursts are local: the high band's envelope (log root mean square of the second difference over
# ENVELOPE_WINDOW samples wholly between QRS complexes) correlates about 0.6 between I and II, 0.4-0.55
# between neighbouring chest leads and 0.3 between limb and chest leads (median over records); one
# modulation for all leads made it 0.75-0.85 for every pair, a cue any network that sees all leads at once
# can use. Each lead has a slow process of its own, mixed by burst_mixing (the Cholesky factor of their
# correlation), calibrated ENVELOPE_ROUNDS times to the residuals' envelope correlation
ENVELOPE_WINDOW, ENVELOPE_ROUNDS, ENVELOPE_MIN_EIGENVALUE = 8, 4, 0.02
# Real residuals are quieter in the TP segment than around the P and T waves (what beats change from one
# to the next); the noise above BURST_LOW_HZ follows the cardiac cycle by a gain per lead and phase of the RR
# interval, calibrated to the real residuals' typical sample-to-sample change there
CYCLE_BINS = 20
CALIBRATION_ROUNDS = 3  # each gain is refined this many times (they do not act on what lies below BURST_LOW_HZ)
CYCLE_GAIN_RANGE = (0.05, 5.0)
# The cycle's gain, calibrated on the sample-to-sample change (which the T wave's slow beat-to-beat changes
# dominate over the ST segment and T wave), left the noise above HIGH_CYCLE_HZ there 20-40% louder than the
# real residuals' in the chest leads, and that alone let a discriminator tell the 15-45 Hz band of real and
# synthetic records apart. That part follows a second gain by lead and phase, calibrated on the root mean
# square of the second difference (a median, like the change's, matched it only halfway: the real high band
# comes in rare loud stretches; x[t+1] - 2 x[t] + x[t-1] is local, so the large residuals inside the QRS
# do not spill into the neighbouring phases as a band filter's ringing would; its power gain is 0.7 at
# 15 Hz and 4-15 at 25-45 Hz against 0.01 at 5 Hz)
HIGH_CYCLE_HZ = 15.0


PhaseLevels = Callable[[np.ndarray, list[np.ndarray], float], np.ndarray]  # phase_levels, high_band_levels


@dataclass(frozen=True)
class NoiseModel:
    """Per record, log power spectra ``[leads, bins]`` (a Gaussian over records), lead correlation,
    record means, bursts and the cardiac cycle's gain."""

    fs: int
    samples: int  # record length the spectra were measured on
    mean_log_power: np.ndarray  # [leads, bins]
    basis: np.ndarray  # [K, leads * bins], orthonormal
    spread: np.ndarray  # [K], standard deviation along each direction
    mixing: np.ndarray  # [leads, leads], Cholesky factor of the between-lead correlation
    offset_sd: np.ndarray  # [leads], robust standard deviation of a record's mean, mV
    burst_sd: np.ndarray  # [1], log standard deviation of the slow modulation of the noise above BURST_LOW_HZ
    burst_mixing: np.ndarray  # [leads, leads], Cholesky factor of the correlation between the leads' modulations
    cycle_gain: np.ndarray  # [leads, CYCLE_BINS], gain of the noise above BURST_LOW_HZ by phase of the RR interval
    # (ones when the fit is given no R peaks)
    high_cycle_gain: np.ndarray  # [leads, CYCLE_BINS], further gain of the noise above HIGH_CYCLE_HZ (ones likewise)

    def sample(self, rng: np.random.Generator, r_times: np.ndarray | None = None) -> np.ndarray:
        """One record's noise ``[leads, samples]`` in mV at ``fs``, following the cardiac cycle of
        the R peaks at ``r_times`` (seconds) where given."""
        coordinates = rng.standard_normal(len(self.spread)) * self.spread
        log_power = self.mean_log_power + (coordinates @ self.basis).reshape(self.mean_log_power.shape)
        white = self.mixing @ rng.standard_normal((self.mixing.shape[0], self.samples))
        spectrum = np.fft.rfft(white, axis=1) * np.sqrt(np.exp(log_power))
        spectrum[:, 0] = 0.0
        gain, high_gain = np.ones((1, self.samples)), np.ones((1, self.samples))
        if r_times is not None and len(r_times) >= 2:
            bins = phase_bins(self.samples, self.fs, r_times)
            gain, high_gain = self.cycle_gain[:, bins], self.high_cycle_gain[:, bins]
        slow = rng.standard_normal((len(self.burst_mixing), self.samples))
        return in_bursts(spectrum, self.fs, self.samples, float(self.burst_sd[0]), slow, self.burst_mixing, gain,
                         high_gain)  # fmt: skip

    def offsets(self, rng: np.random.Generator) -> np.ndarray:
        """One record's per-lead mean ``[leads]`` in mV (its leads' means are removed first)."""
        return rng.standard_normal(len(self.offset_sd)) * self.offset_sd

    def arrays(self) -> dict[str, np.ndarray]:
        return {"mean_log_power": self.mean_log_power, "basis": self.basis, "spread": self.spread,
                "mixing": self.mixing, "offset_sd": self.offset_sd, "burst_sd": self.burst_sd,
                "burst_mixing": self.burst_mixing, "cycle_gain": self.cycle_gain,
                "high_cycle_gain": self.high_cycle_gain}  # fmt: skip

    def to_bytes(self) -> bytes:
        header = {"fs": self.fs, "samples": self.samples, "leads": INDEPENDENT_LEADS, "card": MODEL_CARD}
        return pack_arrays(header, self.arrays())

    @classmethod
    def load(cls, path: str | Path = NOISE_MODEL_PATH) -> NoiseModel:
        """Read a model written by ``to_bytes`` (the packaged one by default)."""
        names = (
            "mean_log_power",
            "basis",
            "spread",
            "mixing",
            "offset_sd",
            "burst_sd",
            "burst_mixing",
            "cycle_gain",
            "high_cycle_gain",
        )
        header, arrays = unpack_arrays(path, names)
        try:
            return cls(fs=int(header["fs"]), samples=int(header["samples"]), **arrays)
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}: not a noise model ({exc}); refit it with tools/fit_beat_model.py") from None


def phase_bins(samples: int, fs: float, r_times: np.ndarray) -> np.ndarray:
    """Each sample's bin (of ``CYCLE_BINS``) of its phase between the R peaks ``r_times`` (seconds)
    around it; before the first and after the last, counted on with the median RR interval."""
    t = np.arange(samples) / fs
    rr = float(np.median(np.diff(r_times)))
    phase = np.mod((t - r_times[0]) / rr, 1.0)
    after = t >= r_times[-1]
    phase[after] = np.mod((t[after] - r_times[-1]) / rr, 1.0)
    between = (t >= r_times[0]) & ~after
    index = np.searchsorted(r_times, t[between], side="right") - 1
    phase[between] = (t[between] - r_times[index]) / (r_times[index + 1] - r_times[index])
    return np.minimum((phase * CYCLE_BINS).astype(np.int64), CYCLE_BINS - 1)


def in_bursts(spectrum: np.ndarray, fs: float, samples: int, burst_sd: float, white: np.ndarray,
              burst_mixing: np.ndarray, gain: np.ndarray | None = None,
              high_gain: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """The noise ``[leads, samples]`` whose spectrum is ``spectrum`` ``[leads, bins]``, its part above
    ``BURST_LOW_HZ`` multiplied by ``gain`` ``[leads or 1, samples]`` (the cardiac cycle's), its part
    above ``HIGH_CYCLE_HZ`` by ``high_gain`` too, and both modulated by exp(burst_sd * u - burst_sd^2),
    where u is ``white`` ``[leads, samples]`` kept below ``BURST_BANDWIDTH_HZ``, each row scaled to unit
    variance and the rows mixed by ``burst_mixing`` (the Cholesky factor of their correlation)."""
    frequencies = np.fft.rfftfreq(samples, 1.0 / fs)

    def part(low: float, high: float) -> np.ndarray:
        return np.fft.irfft(np.where((frequencies >= low) & (frequencies < high), spectrum, 0.0), n=samples, axis=-1)

    low = part(0.0, BURST_LOW_HZ)
    high = part(BURST_LOW_HZ, HIGH_CYCLE_HZ)
    top = part(HIGH_CYCLE_HZ, np.inf)
    high = high + (top if high_gain is None else top * np.atleast_2d(high_gain))
    modulation = np.ones((1, samples)) if gain is None else np.atleast_2d(gain)
    if burst_sd > 0.0:
        slow = np.fft.irfft(np.where(frequencies < BURST_BANDWIDTH_HZ, np.fft.rfft(white, axis=-1), 0.0), n=samples,
                            axis=-1)  # fmt: skip
        slow = burst_mixing @ (slow / np.maximum(slow.std(axis=-1, keepdims=True), 1e-12))
        modulation = modulation * np.exp(burst_sd * slow - burst_sd**2)
    return low + high * modulation


def phase_levels(noise: np.ndarray, r_times: list[np.ndarray], fs: float) -> np.ndarray:
    """The typical sample-to-sample change of ``noise`` ``[n, leads, samples]`` with R peaks
    ``r_times`` (seconds) by lead and phase of the RR interval ``[leads, CYCLE_BINS]``: per record
    the median |change| in each bin (``by_phase``)."""
    return by_phase(noise, r_times, fs, 1, lambda change: np.median(np.abs(change), axis=-1))


def high_band_levels(noise: np.ndarray, r_times: list[np.ndarray], fs: float) -> np.ndarray:
    """How loud the high band of ``noise`` ``[n, leads, samples]`` is by lead and phase of the RR
    interval ``[leads, CYCLE_BINS]``: per record the root mean square of the second difference in
    each bin (``by_phase``; ``HIGH_CYCLE_HZ`` says why the second difference and why not a median)."""
    return by_phase(noise, r_times, fs, 2, lambda change: np.sqrt(np.mean(change**2, axis=-1)))


def by_phase(noise: np.ndarray, r_times: list[np.ndarray], fs: float, order: int,
             level: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:  # fmt: skip
    """``median_by_phase``, with the bins that hold the QRS at a 0.8 s RR given their nearest
    neighbour's (there the residual is the beat's own variation, which the beat model draws)."""
    profile = median_by_phase(noise, r_times, fs, order, level)
    centres = (np.arange(CYCLE_BINS) + 0.5) / CYCLE_BINS * 0.8  # seconds after R at a 0.8 s RR
    inside = (centres < QRS_WINDOW_S[1]) | (centres > 0.8 + QRS_WINDOW_S[0])
    kept = np.flatnonzero(~inside)
    for b in np.flatnonzero(inside):
        distance = np.abs(kept - b)
        profile[:, b] = profile[:, kept[np.argmin(np.minimum(distance, CYCLE_BINS - distance))]]
    return profile


def median_by_phase(noise: np.ndarray, r_times: list[np.ndarray], fs: float, order: int,
                    level: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:  # fmt: skip
    """``level`` ``[leads]`` of the ``order``-th differences (0: the signal itself) of each record of
    ``noise`` ``[n, leads, samples]`` in each phase bin of the RR interval between its R peaks
    ``r_times`` (seconds; records with fewer than 3, or not finite, are left out), and the median of
    that over records (so that the bursts do not set it) ``[leads, CYCLE_BINS]``."""
    levels = []
    for record, times in zip(noise, r_times, strict=True):
        if not np.isfinite(record).all() or len(times) < 3:
            continue
        change = np.diff(record, n=order, axis=-1)
        bins = phase_bins(record.shape[-1], fs, times)[order:]
        levels.append(np.stack([level(change[:, bins == b]) if (bins == b).any()
                                else np.full(len(change), np.nan) for b in range(CYCLE_BINS)], axis=-1))  # fmt: skip
    if not levels:
        return np.full((noise.shape[1], CYCLE_BINS), np.nan)
    return np.nanmedian(np.array(levels), axis=0)


@dataclass(frozen=True)
class FitDraw:
    """Noise drawn to check a fit against the residuals: ``records`` ``[BURST_FIT_RECORDS, leads,
    samples]`` at the cardiac cycle of ``r_times`` (seconds, one array per record), and their
    ``weights`` ``[BURST_FIT_RECORDS, samples]`` between QRS complexes (``between_qrs``)."""

    records: np.ndarray
    r_times: list[np.ndarray]
    weights: np.ndarray


def fit_draw(model: NoiseModel, r_times: list[np.ndarray], seed: int) -> FitDraw:
    """``BURST_FIT_RECORDS`` records of ``model``'s noise (seeded) at the first of ``r_times`` (the
    residual records' R peaks, seconds) that hold at least 3 R peaks: the one draw every calibration
    and the fit's summary compare with the residuals."""
    chosen = [times for times in r_times if len(times) >= 3][:BURST_FIT_RECORDS]
    rng = np.random.default_rng(seed)
    records = np.stack([model.sample(rng, times) for times in chosen])
    weights = np.stack([between_qrs(times, model.samples, model.fs) for times in chosen])
    return FitDraw(records, chosen, weights)


def calibrated_gains(model: NoiseModel, residuals: np.ndarray, r_times: list[np.ndarray]) -> NoiseModel:
    """``model`` with the ``cycle_gain`` and ``high_cycle_gain`` ``[leads, CYCLE_BINS]`` that give its
    noise the residuals' typical change (``phase_levels``) and high band (``high_band_levels``) by
    lead and phase: first the cycle's gain, then the high band's, each multiplied
    ``CALIBRATION_ROUNDS`` times by the residuals' level over that of ``BURST_FIT_RECORDS`` records
    drawn at the first residuals' R peaks (seeded).  (Refining them in turn, so that the change is
    as busy as the residuals' once the high band is quieter, raises the cycle's gain below 15 Hz over
    the ST segment and T wave, and the 0.5-15 Hz discriminator went from 0.9354 to 0.9654.)  The
    spectra alone make the chest leads' TP
    segment busier than real: they are fitted over the P and T waves too, which change from beat to
    beat, while the TP segment holds noise alone."""
    fields: dict[str, PhaseLevels] = {"cycle_gain": phase_levels, "high_cycle_gain": high_band_levels}
    targets = {field: levels(residuals, r_times, model.fs) for field, levels in fields.items()}
    for field, levels in fields.items():
        for _ in range(CALIBRATION_ROUNDS):
            drawn = fit_draw(model, r_times, seed=0)
            ratio = targets[field] / levels(drawn.records, drawn.r_times, model.fs)
            gain = getattr(model, field) * np.where(np.isfinite(ratio) & (ratio > 0), ratio, 1.0)
            model = replace(model, **{field: np.clip(gain, *CYCLE_GAIN_RANGE)})
    return model


def burstiness(noise: np.ndarray, keep: np.ndarray | None = None) -> float:
    """Median over records and leads of the root mean square of ``noise`` ``[n, leads, samples]``'s
    sample-to-sample change over its median |change| (1.48 for Gaussian noise), on the changes
    where ``keep`` ``[n, samples - 1]`` is true (all by default)."""
    ratios = []
    for record, kept in zip(noise, keep if keep is not None else np.ones((len(noise), noise.shape[-1] - 1), bool),
                            strict=True):  # fmt: skip
        change = np.diff(record, axis=-1)[:, kept]
        typical = np.median(np.abs(change), axis=-1)
        ratios += list(np.sqrt(np.mean(change**2, axis=-1))[typical > 0] / typical[typical > 0])
    return float(np.median(ratios)) if ratios else float("nan")


def fitted_burst_sd(model: NoiseModel, target: float) -> float:
    """The ``burst_sd`` on ``BURST_SD_GRID`` at which ``model``'s noise (``BURST_FIT_RECORDS`` records,
    cardiac cycle at ``BURST_FIT_R_TIMES``) has the ``target`` ``burstiness`` (interpolated; seeded,
    so the fit is deterministic)."""
    values = []
    for burst_sd in BURST_SD_GRID:
        trial, rng = replace(model, burst_sd=np.array([burst_sd])), np.random.default_rng(0)
        values.append(burstiness(np.stack([trial.sample(rng, BURST_FIT_R_TIMES) for _ in range(BURST_FIT_RECORDS)])))
    order = np.argsort(values)
    return float(np.interp(target, np.asarray(values)[order], BURST_SD_GRID[order]))


def record_residuals(signals: np.ndarray, found: RecordBeats, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """(records ``[n, INDEPENDENT_LEADS, samples]`` minus their median beats laid at their own R
    peaks (``found``, from ``beat_model.record_beats``), NaN rows where no beat was found; weights
    ``[n, samples]`` that leave out each QRS complex, ``QRS_WINDOW_S`` around its R peak).

    Inside the QRS what is left is mostly the beat's own variation and the last fraction of a
    sample of misalignment on its steep edges, 10-100x what lies between beats, and no recording
    noise: the spectra are measured between QRS complexes."""
    residuals = np.full(signals.shape, np.nan)
    weights = np.ones((len(signals), signals.shape[-1]))
    for index, (record, times, beat) in enumerate(zip(signals, found.r_times, found.beats, strict=True)):
        if not np.isfinite(beat).all():
            continue
        rrs = found_rrs(times)
        laid = lay_beats(beat, BEAT_WINDOW_S, int(fs), times, rrs, np.ones((len(times), len(record))),
                         record.shape[-1], int(fs))  # fmt: skip
        residuals[index] = record - laid
        weights[index] = between_qrs(times, record.shape[-1], fs)
    return residuals, weights


def between_qrs(r_times: np.ndarray, samples: int, fs: float) -> np.ndarray:
    """Weights ``[samples]`` that leave out each QRS complex, ``QRS_WINDOW_S`` around each R peak at
    ``r_times`` (seconds), with ``EXCLUSION_RAMP_S`` ramps."""
    t = np.arange(samples) / fs
    weights = np.ones(samples)
    for r_time in r_times:
        start, stop = r_time + QRS_WINDOW_S[0], r_time + QRS_WINDOW_S[1]
        inside = np.clip(np.minimum(t - start, stop - t) / EXCLUSION_RAMP_S, 0.0, 1.0)
        weights *= 1.0 - smoothstep(inside)
    return weights


def envelope_correlation(noise: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """How far the high band's bursts go together in different leads: per record of ``noise``
    ``[n, leads, samples]``, the correlation between leads ``[leads, leads]`` of the log root mean
    square of the second difference over windows of ``ENVELOPE_WINDOW`` samples that lie wholly
    where ``weights`` ``[n, samples]`` exceed 0.99 (between QRS complexes); the median over records
    (those with at least 10 such windows and finite values)."""
    found = []
    for record, weight in zip(noise, weights, strict=True):
        if not np.isfinite(record).all():
            continue
        change = np.diff(record, n=2, axis=-1)
        windows = change.shape[-1] // ENVELOPE_WINDOW
        kept = weight[1 : 1 + windows * ENVELOPE_WINDOW].reshape(windows, ENVELOPE_WINDOW).min(axis=1) > 0.99
        if kept.sum() < 10:
            continue
        blocks = change[:, : windows * ENVELOPE_WINDOW].reshape(len(record), windows, ENVELOPE_WINDOW)[:, kept]
        envelope = np.log(np.sqrt(np.mean(blocks**2, axis=-1)) + 1e-9)
        if (envelope.std(axis=-1) > 0).all():
            found.append(np.corrcoef(envelope))
    if not found:
        return np.eye(noise.shape[1])
    return np.median(np.array(found), axis=0)


def nearest_correlation(matrix: np.ndarray) -> np.ndarray:
    """A correlation matrix near the symmetric ``matrix``: its eigenvalues kept at least
    ``ENVELOPE_MIN_EIGENVALUE``, then rescaled to a unit diagonal."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2.0)
    fixed = (vectors * np.maximum(values, ENVELOPE_MIN_EIGENVALUE)) @ vectors.T
    scale = np.sqrt(np.diag(fixed))
    return fixed / np.outer(scale, scale)


def calibrated_burst_mixing(model: NoiseModel, residuals: np.ndarray, weights: np.ndarray,
                            r_times: list[np.ndarray]) -> NoiseModel:  # fmt: skip
    """``model`` with the ``burst_mixing`` whose noise's ``envelope_correlation`` is the residuals':
    starting from that correlation, ``ENVELOPE_ROUNDS`` times corrected by the difference between the
    residuals' and that of ``BURST_FIT_RECORDS`` records drawn at the first residuals' R peaks
    (seeded; the cycle's gains and the lead mixing of the noise itself add some of it)."""
    target = envelope_correlation(residuals, weights)
    correlation = nearest_correlation(target)
    for _ in range(ENVELOPE_ROUNDS):
        model = replace(model, burst_mixing=np.linalg.cholesky(correlation))
        drawn = fit_draw(model, r_times, seed=0)
        correlation = nearest_correlation(correlation + target - envelope_correlation(drawn.records, drawn.weights))
    return replace(model, burst_mixing=np.linalg.cholesky(correlation))


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
                    components: int = COMPONENTS, r_times: list[np.ndarray] | None = None) -> NoiseModel:  # fmt: skip
    """Fit the spectra and lead correlation to residuals ``[n, leads, samples]`` seen through
    ``weights`` ``[n, samples]`` (``record_residuals``; NaN rows and flat leads left out), the
    spread of the records' own means ``[n, leads]`` (robust: 1.4826 x the median absolute deviation
    from zero, so that the few records with a large offset do not set it), the gain over the
    cardiac cycle where the records' R peaks ``r_times`` (seconds) are given, and the bursts."""
    offset_sd = 1.4826 * np.median(np.abs(record_means), axis=0)
    rows = np.flatnonzero(np.isfinite(residuals).all(axis=(1, 2)))
    residuals, weights = residuals[rows], weights[rows]
    residuals = (
        residuals - (residuals * weights[:, None]).sum(axis=-1, keepdims=True) / weights.sum(axis=-1)[:, None, None]
    )
    windowed = residuals * weights[:, None, :]
    keep = (windowed.std(axis=-1) > FLAT_LEAD_MV).all(axis=1)  # a flat lead: no recording
    residuals, weights, windowed, rows = residuals[keep], weights[keep], windowed[keep], rows[keep]
    log_power = smoothed_log_power(residuals, weights)
    flat = log_power.reshape(len(log_power), -1)
    mean = flat.mean(axis=0)
    _, singular, vt = np.linalg.svd(flat - mean, full_matrices=False)
    k = min(components, len(singular))
    normalized = windowed / windowed.std(axis=-1, keepdims=True)
    correlation = np.einsum("nlt,nmt->lm", normalized, normalized) / (len(windowed) * windowed.shape[-1])
    gaussian = NoiseModel(
        fs=int(fs),
        samples=int(residuals.shape[-1]),
        mean_log_power=mean.reshape(log_power.shape[1:]),
        basis=vt[:k],
        spread=singular[:k] / np.sqrt(len(flat) - 1),
        mixing=np.linalg.cholesky(correlation + 1e-6 * np.eye(len(correlation))),
        offset_sd=offset_sd,
        burst_sd=np.zeros(1),
        burst_mixing=np.eye(residuals.shape[1]),
        cycle_gain=np.ones((residuals.shape[1], CYCLE_BINS)),
        high_cycle_gain=np.ones((residuals.shape[1], CYCLE_BINS)),
    )
    target = burstiness(residuals, weights[:, 1:] * weights[:, :-1] > 0.99)  # between QRS complexes
    bursty = replace(gaussian, burst_sd=np.array([fitted_burst_sd(gaussian, target)]))
    if r_times is None:
        return bursty
    kept_times = [r_times[i] for i in rows]
    return calibrated_burst_mixing(calibrated_gains(bursty, residuals, kept_times), residuals, weights, kept_times)


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
