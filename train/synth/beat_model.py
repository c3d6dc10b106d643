"""A statistical model of 12-lead median beats, fitted to real PTB-XL's training folds (generator version 3).

Version 2 builds every beat from a handful of Gaussian waves along dipole directions; its
parameters were fitted to real statistics, but a model trained on its records reaches 0.78 on
real ones.  This model describes beats the way the real training folds show them instead:

* every training record's median beat in the eight independent leads I, II, V1-V6, around its
  lead-II R peaks aligned to a fifth of a sample (``record_beats``), levelled at the PR segment,
  at the cache's rate, and the log of its median RR interval;
* per *label combination* (the set of superclasses a record carries, e.g. ``MI+CD``) with at least
  ``MIN_COMBINATION_RECORDS`` training records: how often it occurs, and a mixture of up to
  ``MAX_MIXTURE`` Gaussians (k-means; each component fitted to at least that many records) over
  the records' coordinates in one shared basis of ``COMPONENTS`` principal components and their
  log RR, each covariance shrunk by ``SHRINKAGE_RECORDS`` pseudo-records towards its combination's
  pooled one, which is shrunk as much towards the pooled one over all combinations;
* how single beats vary around their record's median beat (their covariance in the same basis).

Sampling a beat is drawing coordinates from a component's Gaussian.  What the package ships
(``beat_model.npz``) are these means, the basis and the Cholesky factors: statistics over at
least ``MIN_COMBINATION_RECORDS`` records each, no record's signal.  They derive from PTB-XL
(CC BY 4.0; see ``MODEL_CARD``).  ``tools/fit_beat_model.py REAL_CACHE`` refits them.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.interpolate import CubicSpline
from scipy.ndimage import gaussian_filter1d

from runtime.errors import DataError
from runtime.signal import resample
from train.synth.fidelity import BEAT_WINDOW_S, QRS_WINDOW_S, beat_windows, lead_ii_peaks, median_beats

INDEPENDENT_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")  # the other four follow from I and II
COMPONENTS = 40
# the next principal components of median beats, drawn from one Gaussian for every combination: the
# fine detail of QRS complexes (notches, slurs, sharp peaks) that the first COMPONENTS smooth away
DETAIL_COMPONENTS = 80
# how much detail a median beat carries varies from record to record far more than a Gaussian's would,
# and from class to class (the median normal beat carries 0.40 of the mean: tools/fit_beat_model.py prints
# it); drawn in one Gaussian, every beat got the mean and a busy P wave and TP segment.  A record's scale is
# drawn from these many quantiles of the scales of its mixture component's real records (given the scale,
# the detail is Gaussian)
DETAIL_SCALE_LEVELS = 101
QRS_COMPONENTS = 40  # principal directions of single beats' deviations inside the QRS window
QRS_TAPER_S = 0.02  # the QRS window fades over this much at either end
# outside the QRS a median beat is smoothed with a Gaussian of this standard deviation (-3 dB near 13 Hz):
# P, ST and T keep their shape; what the median of some ten beats leaves above that is recording noise
# (in the TP segment about as much as a real record's own there), which the noise model, fitted to the
# records less these beats, then draws once rather than twice
OUTSIDE_QRS_SMOOTHING_S = 0.01
BEATS_PER_RECORD = 4  # single beats per record whose deviation from its median beat feeds the beat-to-beat spread
BEAT_TRIM_PERCENTILE = 50  # the calmer half of single beats: the other half's deviations are mostly noise, missed
# or ectopic beats and artefacts, which the noise model and the rhythm already draw
ALIGNMENT_UPSAMPLING = 5  # R peaks are placed on a grid this many times finer than the records' samples
MIN_COMBINATION_RECORDS = 60
SHRINKAGE_RECORDS = 100.0
MAX_MIXTURE = 6  # Gaussians per label combination at most, each fitted to at least MIN_COMBINATION_RECORDS records
# after the R peak: what follows (ST, T) is what ``lay_beats`` stretches where it is given stretches.  The
# generator gives none: in real training records whose RR SD exceeds 50 ms, a median beat laid back at the
# record's own R peaks leaves a median 3.5% less residual after the QRS unstretched than stretched by Bazett's
# rule with the following RR (what version 3 did until round 12; less in 85-87% of those records), and stretched
# with the preceding RR only 1.3-1.4% less (tools/repolarization_stretch.py): within ten seconds the QT interval
# follows the heart rate of the last minutes, not the last beat's
QRS_END_S = 0.08
HEAD_TAPER_S = 0.04  # where two beats overlap, the record crossfades from one to the next over this long
TAIL_GAP_S = 0.22  # a beat's span ends at most this long ahead of the next R peak
P_WAVE_S = (-0.25, -0.10)  # where atrial fibrillation removes the P wave, relative to the R peak
# a beat is laid through a cubic spline on a grid this many times finer than the output, then linearly
# between that grid's points: linear steps at the output's own rate would keep, averaged over where the
# R peak falls between samples, 56% of the 30 Hz and 40% of the 40 Hz power of a QRS complex
LAYING_UPSAMPLING = 10
MODEL_PATH = Path(__file__).with_name("beat_model.npz")
NOISE_MODEL_PATH = Path(__file__).with_name("noise_model.npz")
MODEL_CARD = (
    "Statistics of PTB-XL's training folds 1-8 (Wagner et al., PTB-XL, a large publicly available "
    "electrocardiography dataset, PhysioNet, CC BY 4.0): per label combination a Gaussian mixture over the "
    "principal-component coordinates of median beats (means and covariance factors), the spread of the next components "
    "and of single beats' deviations inside the QRS; the spectra and lead correlation of what records carry besides "
    "their median beat, and the spread of record means; no record's signal."
)


def independent_lead_indices(leads: tuple[str, ...]) -> list[int]:
    """Where ``INDEPENDENT_LEADS`` sit in a record's ``leads``."""
    return [leads.index(name) for name in INDEPENDENT_LEADS]


@dataclass(frozen=True)
class BeatModel:
    """Per label combination, a Gaussian mixture over median beats ``[leads, window]`` and log RR,
    and the beat-to-beat variation around a median beat."""

    classes: tuple[str, ...]
    leads: tuple[str, ...]
    fs: int
    window_s: tuple[float, float]
    combinations: np.ndarray  # [C, classes] 0/1: which superclasses each combination carries
    counts: np.ndarray  # [C] training records of each combination
    component_of: np.ndarray  # [M]: the combination each mixture component belongs to
    component_counts: np.ndarray  # [M] training records of each component
    means: np.ndarray  # [M, D + 1]: mean beat (leads x window, flattened) and mean log RR of each component
    basis: np.ndarray  # [K, D]: orthonormal principal components of beats around their combination's mean
    cholesky: np.ndarray  # [M, K + 1, K + 1]: of the covariance of (coordinates, log RR) in each component
    beat_cholesky: np.ndarray  # [K, K]: of the covariance of single beats' coordinates around their median beat
    detail_basis: np.ndarray  # [J, D]: the principal components after ``basis``, orthonormal to it
    detail_spread: np.ndarray  # [J]: standard deviation of median beats along each of them
    detail_scales: np.ndarray  # [M, L]: per component, quantiles (levels 0 to 1) of its records' detail scale
    qrs_basis: np.ndarray  # [Q, D]: principal directions of single beats' deviations inside the QRS window
    qrs_spread: np.ndarray  # [Q]: standard deviation along each
    source: dict[str, Any]

    @property
    def window(self) -> int:
        return int(self.basis.shape[1] // len(self.leads))

    @property
    def dims(self) -> int:
        """How many standard-normal coordinates ``sample`` takes: mixture (K + 1), detail (J), detail scale (1)."""
        return int(self.cholesky.shape[-1] + len(self.detail_spread) + 1)

    @property
    def weights(self) -> np.ndarray:
        """How often each combination occurs (share of the modelled training records)."""
        return self.counts / self.counts.sum()

    def combination_index(self, classes: set[str]) -> int:
        """The modelled combination of these superclasses; one not modelled (too rare in PTB-XL)
        falls back to the most frequent combination that differs in the fewest classes."""
        wanted = np.array([name in classes for name in self.classes], dtype=float)
        distance = np.abs(self.combinations - wanted).sum(axis=1)
        candidates = np.flatnonzero(distance == distance.min())
        return int(candidates[np.argmax(self.counts[candidates])])

    def combination_classes(self, index: int) -> list[str]:
        return [name for name, present in zip(self.classes, self.combinations[index], strict=True) if present]

    def component(self, index: int, pick: float) -> int:
        """The mixture component of combination ``index`` that a uniform ``pick`` in [0, 1) selects
        (each as often as its share of the combination's training records)."""
        members = np.flatnonzero(self.component_of == index)
        shares = np.cumsum(self.component_counts[members]) / self.component_counts[members].sum()
        return int(members[min(int(np.searchsorted(shares, pick, side="right")), len(members) - 1)])

    def sample(
        self, index: int, standard_normal: np.ndarray, pick: float = 0.0, spread: float = 1.0
    ) -> tuple[np.ndarray, float]:
        """(median beat ``[leads, window]`` in mV, RR interval in s) of combination ``index``, from
        its mixture component ``pick`` selects, for standard-normal coordinates ``[dims]`` (the
        mixture's K + 1, the detail's J, and the last one for the detail's scale, turned into a
        quantile of the component's ``detail_scales``); ``spread`` scales the between-record variation."""
        component = self.component(index, pick)
        k, j = self.basis.shape[0], len(self.detail_spread)
        drawn = spread * (self.cholesky[component] @ standard_normal[: k + 1])
        level = 0.5 * (1.0 + math.erf(float(standard_normal[k + 1 + j]) / math.sqrt(2.0)))
        scales = self.detail_scales[component]
        scale = float(np.interp(level, np.linspace(0.0, 1.0, len(scales)), scales))
        detail = spread * scale * self.detail_spread * standard_normal[k + 1 : k + 1 + j]
        beat = self.means[component, :-1] + drawn[:k] @ self.basis + detail @ self.detail_basis
        rr = float(np.exp(self.means[component, -1] + drawn[k]))
        return beat.reshape(len(self.leads), self.window), rr

    def beat_variation(self, rng: np.random.Generator, beats: int) -> np.ndarray:
        """How ``beats`` successive beats ``[beats, leads, window]`` differ from their record's median
        beat: in the shape of median beats (``basis``) and, inside the QRS, in directions of their own."""
        drawn = rng.standard_normal((beats, self.basis.shape[0])) @ self.beat_cholesky.T
        qrs = rng.standard_normal((beats, len(self.qrs_spread))) * self.qrs_spread
        return (drawn @ self.basis + qrs @ self.qrs_basis).reshape(beats, len(self.leads), self.window)

    def to_bytes(self) -> bytes:
        """The model as a compressed ``.npz`` (float32 arrays and a JSON header)."""
        header = {"classes": self.classes, "leads": self.leads, "fs": self.fs, "window_s": self.window_s,
                  "source": self.source, "card": MODEL_CARD}  # fmt: skip
        arrays = {"combinations": self.combinations, "counts": self.counts, "component_of": self.component_of,
                  "component_counts": self.component_counts, "means": self.means,
                  "basis": self.basis, "cholesky": self.cholesky, "beat_cholesky": self.beat_cholesky,
                  "detail_basis": self.detail_basis, "detail_spread": self.detail_spread,
                  "detail_scales": self.detail_scales, "qrs_basis": self.qrs_basis, "qrs_spread": self.qrs_spread}  # fmt: skip
        return pack_arrays(header, arrays)

    @classmethod
    def load(cls, path: str | Path = MODEL_PATH) -> BeatModel:
        """Read a model written by ``to_bytes`` (the packaged one by default)."""
        names = ("combinations", "counts", "component_of", "component_counts", "means", "basis", "cholesky",
                 "beat_cholesky", "detail_basis", "detail_spread", "detail_scales", "qrs_basis", "qrs_spread")  # fmt: skip
        header, arrays = unpack_arrays(path, names)
        try:
            return cls(
                classes=tuple(header["classes"]),
                leads=tuple(header["leads"]),
                fs=int(header["fs"]),
                window_s=(float(header["window_s"][0]), float(header["window_s"][1])),
                counts=arrays.pop("counts").astype(np.int64),
                component_of=arrays.pop("component_of").astype(np.int64),
                component_counts=arrays.pop("component_counts").astype(np.int64),
                source=dict(header["source"]),
                **arrays,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DataError(f"{path}: not a beat model ({exc}); refit it with tools/fit_beat_model.py") from None


def pack_arrays(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    """A compressed ``.npz`` of float32 ``arrays`` (integer arrays kept as int64) and a JSON ``header``."""
    buffer = io.BytesIO()
    stored = {name: array.astype(np.int64 if np.issubdtype(array.dtype, np.integer) else np.float32)
              for name, array in arrays.items()}  # fmt: skip
    header_bytes = np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)
    np.savez_compressed(buffer, header=header_bytes, **stored)
    return buffer.getvalue()


def unpack_arrays(path: str | Path, names: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """(header, float64 arrays) of a file written by ``pack_arrays``; a one-line error for anything else."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            header = json.loads(stored["header"].tobytes().decode())
            arrays = {name: stored[name].astype(np.float64) for name in names}
    except (OSError, KeyError, ValueError) as exc:
        raise DataError(
            f"{path}: not a fitted generator model ({exc}); refit it with tools/fit_beat_model.py"
        ) from None
    if not isinstance(header, dict):
        raise DataError(f"{path}: not a fitted generator model (no header); refit it with tools/fit_beat_model.py")
    return header, arrays


def smoothstep(x: np.ndarray) -> np.ndarray:
    """A raised-cosine ramp: 0 at or below 0, 1 at or above 1 (the tapers of beats and masks)."""
    clipped = np.clip(x, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * clipped)


def found_rrs(times: np.ndarray) -> np.ndarray:
    """Each found R peak's RR interval ``[beats]`` (s): to the next peak, and the record's median
    for the last one, whose next peak lies beyond the record."""
    return np.diff(times, append=times[-1] + np.median(np.diff(times)))


def beat_spans(rrs: np.ndarray, stretches: np.ndarray, window_s: tuple[float, float]) -> np.ndarray:
    """Where each beat reaches, ``[beats, 2]`` in seconds from its R peak: from its window's start
    to its window's end (the part after the QRS stretched by ``stretches``, see ``lay_beats``) or
    ``TAIL_GAP_S`` before the next R peak (the beat's RR ``rrs``), whichever comes first."""
    start, stop = window_s
    window_end = np.where(stop > QRS_END_S, QRS_END_S + (stop - QRS_END_S) / stretches, stop)
    return np.stack([np.full(len(stretches), start), np.minimum(window_end, np.asarray(rrs) - TAIL_GAP_S)], axis=1)


def lay_beats(
    beat: np.ndarray, window_s: tuple[float, float], fs: int, times: np.ndarray, rrs: np.ndarray,
    gains: np.ndarray, n: int, out_fs: int, no_p: bool = False, variation: np.ndarray | None = None,
    stretches: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """The leads ``[leads, n]`` at ``out_fs`` of beats ``beat[leads, window]`` (sampled at ``fs`` over
    ``window_s`` around the R peak) placed at R times ``times`` (each beat's RR to the next one
    ``rrs``), scaled per lead by ``gains[beats, leads]`` and changed by ``variation[beats, leads,
    window]`` (``BeatModel.beat_variation``) where given.  Where ``stretches[beats]`` are given, a
    beat's time after ``QRS_END_S`` is laid at ``QRS_END_S + (t - QRS_END_S) * stretch`` of its shape
    (above 1: its ST-T ends sooner); by default every beat keeps the median beat's ST-T.

    The record is seamless: where one beat's span (``beat_spans``) ends before the next one's
    begins, the signal eases from the one's last value to the other's first; where they overlap,
    it crossfades from the one to the other over ``HEAD_TAPER_S`` from the next beat's start.
    Before the first beat and after the last the signal holds their edge values.  (Fading each
    beat to zero at its ends put a step of the median beat's TP level between every two beats,
    far busier than a real TP segment: ``tools/repeated_samples.py``.)"""
    start, stop = window_s
    grid = start + np.arange(beat.shape[1]) / fs
    keep = np.ones_like(grid)
    if no_p:
        keep = 1.0 - smoothstep((grid - P_WAVE_S[0]) / 0.02) * (1.0 - smoothstep((grid - P_WAVE_S[1]) / 0.02))
    shapes = (beat[None] if variation is None else beat[None] + variation) * keep
    # each shape once on a fine grid (cubic), then linear between its points per beat
    fine_fs = out_fs * LAYING_UPSAMPLING
    fine_grid = np.arange(start, stop + 0.5 / fine_fs, 1.0 / fine_fs)
    fine = CubicSpline(grid, shapes, axis=2)(np.clip(fine_grid, start, stop))  # [shapes, leads, points]
    stretches = np.ones(len(times)) if stretches is None else np.asarray(stretches, dtype=np.float64)
    spans = beat_spans(rrs, stretches, window_s)
    first, last = times + spans[:, 0], times + spans[:, 1]
    # junction j lies between beat j and beat j + 1: the signal goes from one to the other over [ease_from, ease_to]
    ease_from = np.minimum(last[:-1], first[1:])
    ease_to = np.where(last[:-1] < first[1:], first[1:], np.minimum(last[:-1], first[1:] + HEAD_TAPER_S))
    ease_to = np.maximum(ease_to, ease_from + 1e-6)
    t = np.arange(n) / out_fs
    signal = np.zeros((beat.shape[0], n))
    for b, (r_time, stretch) in enumerate(zip(times, stretches, strict=True)):
        lo = 0 if b == 0 else max(0, int(np.ceil(ease_from[b - 1] * out_fs)))
        hi = n if b == len(times) - 1 else min(n, int(np.floor(ease_to[b] * out_fs)) + 1)
        if hi <= lo:
            continue
        tau = np.clip(t[lo:hi] - r_time, spans[b, 0], spans[b, 1])  # held at the span's ends
        warped = np.where(tau > QRS_END_S, QRS_END_S + (tau - QRS_END_S) * stretch, tau)
        weight = np.ones(hi - lo)
        if b > 0:
            weight *= smoothstep((t[lo:hi] - ease_from[b - 1]) / (ease_to[b - 1] - ease_from[b - 1]))
        if b < len(times) - 1:
            weight *= 1.0 - smoothstep((t[lo:hi] - ease_from[b]) / (ease_to[b] - ease_from[b]))
        position = np.clip((warped - start) * fine_fs, 0.0, fine.shape[2] - 1.000001)
        index = position.astype(np.int64)
        fraction = position - index
        shape = fine[0 if variation is None else b]
        values = shape[:, index] * (1.0 - fraction) + shape[:, index + 1] * fraction
        signal[:, lo:hi] += gains[b][:, None] * values * weight[None, :]
    return signal


def _detrended(windows: np.ndarray) -> np.ndarray:
    """Windows ``[..., samples]`` less their least-squares line: a beat's deviation from its median
    without the baseline's drift across the window (the noise model has that)."""
    x = np.linspace(-1.0, 1.0, windows.shape[-1])
    slope = (windows * x).sum(axis=-1, keepdims=True) / (x**2).sum()
    return windows - windows.mean(axis=-1, keepdims=True) - slope * x


@dataclass(frozen=True)
class RecordBeats:
    """What the fit reads off each record: its median beat in the independent leads, its R peaks
    and its median RR interval."""

    beats: np.ndarray  # [n, INDEPENDENT_LEADS, window] in mV at the records' rate; NaN rows: < 3 beats
    r_times: list[np.ndarray]  # per record, R-peak times in seconds (sub-sample)
    log_rr: np.ndarray  # [n], log of the median RR in seconds; NaN with the beat
    deviations: np.ndarray  # [m, D]: single beats minus their record's median beat (up to BEATS_PER_RECORD each)

    def flat(self) -> np.ndarray:
        return self.beats.reshape(len(self.beats), -1).astype(np.float64)


def record_beats(signals: np.ndarray, leads: tuple[str, ...], fs: float) -> RecordBeats:
    """Median beats of records ``[n, 12, samples]`` in mV, aligned to within a fifth of a sample.

    R peaks found on the records' samples (``fidelity.lead_ii_peaks``) are up to half a sample
    off: at 100 Hz, 5 ms, which smears a median beat's QRS like a low-pass filter.  Each record
    is resampled ``ALIGNMENT_UPSAMPLING`` times finer, each peak moved to the largest |lead II|
    within one original sample, the median taken there (``BEAT_WINDOW_S`` around each peak,
    levelled at the PR segment, ``fidelity.median_beats``), resampled back, held where the next
    beat begins (``held_before_next_beat``) and smoothed outside the QRS (``smooth_outside_qrs``)."""
    peaks = lead_ii_peaks(signals, list(leads), fs)
    chosen = independent_lead_indices(leads)
    fine_fs = fs * ALIGNMENT_UPSAMPLING
    fine = resample(signals[:, chosen], fs, fine_fs)
    lead_ii = INDEPENDENT_LEADS.index("II")
    refined = []
    for record, found in zip(fine, peaks, strict=True):
        positions = []
        for peak in found * ALIGNMENT_UPSAMPLING:
            lo = max(0, peak - ALIGNMENT_UPSAMPLING)
            positions.append(lo + int(np.argmax(np.abs(record[lead_ii, lo : peak + ALIGNMENT_UPSAMPLING + 1]))))
        refined.append(np.array(positions, dtype=np.int64))
    fine_beats = median_beats(fine, refined, fine_fs)
    beats = resample(np.nan_to_num(fine_beats), fine_fs, fs).astype(np.float64)
    r_times = [positions / fine_fs for positions in refined]
    log_rr = np.array([np.log(np.median(np.diff(t))) if len(t) >= 3 else np.nan for t in r_times])
    beats = smooth_outside_qrs(held_before_next_beat(beats, log_rr, fs), fs)
    beats[~np.isfinite(fine_beats).all(axis=(1, 2))] = np.nan
    log_rr[~np.isfinite(beats).all(axis=(1, 2))] = np.nan
    deviations = []
    for record, positions, median in zip(fine, refined, fine_beats, strict=True):
        windows = beat_windows(record, positions, fine_fs)
        if not np.isfinite(median).all() or len(windows) < 3:
            continue
        picked = windows[np.linspace(0, len(windows) - 1, min(BEATS_PER_RECORD, len(windows))).round().astype(int)]
        deviations.append(_detrended(picked - median[None]))
    flat = resample(np.concatenate(deviations), fine_fs, fs) if deviations else np.zeros((0, len(chosen), 1))
    return RecordBeats(beats=beats, r_times=r_times, log_rr=log_rr,
                       deviations=flat.reshape(len(flat), -1).astype(np.float32))  # fmt: skip


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest of ``centres`` ``[k, d]`` for each of ``points`` ``[n, d]``."""
    return np.argmin(((points[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1)


def _kmeans(points: np.ndarray, clusters: int, min_size: int, iterations: int = 30) -> np.ndarray:
    """Cluster labels ``[n]`` of ``points`` ``[n, d]`` by k-means (seeded k-means++ start), with
    clusters of fewer than ``min_size`` points dissolved into the nearest others."""
    if clusters <= 1:
        return np.zeros(len(points), dtype=np.int64)
    rng = np.random.default_rng(0)
    centres = [points[rng.integers(len(points))]]
    for _ in range(clusters - 1):
        distance = np.min([((points - c) ** 2).sum(axis=1) for c in centres], axis=0)
        centres.append(points[rng.choice(len(points), p=distance / distance.sum())])
    centre = np.array(centres)
    for _ in range(iterations):
        labels = _nearest(points, centre)
        sizes = np.bincount(labels, minlength=len(centre))
        if sizes.min() < min_size:  # dissolve the smallest cluster, then go on
            centre = np.delete(centre, int(np.argmin(sizes)), axis=0)
            continue
        centre = np.stack([points[labels == j].mean(axis=0) for j in range(len(centre))])
    labels = _nearest(points, centre)
    while (sizes := np.bincount(labels, minlength=len(centre))).min() < min_size:
        centre = np.delete(centre, int(np.argmin(sizes)), axis=0)
        labels = _nearest(points, centre)
    return np.unique(labels, return_inverse=True)[1].reshape(-1)


def qrs_taper(window: int, fs: float) -> np.ndarray:
    """Weights ``[window]`` over a beat window (``BEAT_WINDOW_S``): 1 inside ``QRS_WINDOW_S``,
    fading to 0 over ``QRS_TAPER_S`` on either side."""
    t = BEAT_WINDOW_S[0] + np.arange(window) / fs
    inside = np.minimum(t - QRS_WINDOW_S[0], QRS_WINDOW_S[1] - t) / QRS_TAPER_S + 1.0
    return smoothstep(np.clip(inside, 0.0, 1.0))


def held_before_next_beat(beats: np.ndarray, log_rr: np.ndarray, fs: float) -> np.ndarray:
    """Median beats ``[n, leads, window]`` (``BEAT_WINDOW_S``) held at their last value from where
    the next beat's P wave begins (``P_WAVE_S`` before the next R peak, at each record's median RR
    ``exp(log_rr)``) to the window's end.  At a fast rate the window reaches into the next beat's
    P wave and QRS; left in, their sharp edges became principal components, and every drawn beat
    carried some of them into its TP segment."""
    held = beats.copy()
    for index, rr in enumerate(np.exp(log_rr)):
        if not np.isfinite(rr):
            continue
        stop = int(np.floor((rr + P_WAVE_S[0] - BEAT_WINDOW_S[0]) * fs))
        if 1 <= stop < beats.shape[-1]:
            held[index, :, stop:] = held[index, :, stop - 1 : stop]
    return held


def smooth_outside_qrs(beats: np.ndarray, fs: float) -> np.ndarray:
    """Beats ``[..., window]`` (``BEAT_WINDOW_S``) smoothed outside the QRS window
    (``OUTSIDE_QRS_SMOOTHING_S``), unchanged inside it (``qrs_taper`` blends the two)."""
    taper = qrs_taper(beats.shape[-1], fs)
    smooth = gaussian_filter1d(beats, OUTSIDE_QRS_SMOOTHING_S * fs, axis=-1, mode="nearest")
    return taper * beats + (1.0 - taper) * smooth


def _qrs_deviation_components(deviations: np.ndarray, leads: int, fs: float) -> tuple[np.ndarray, np.ndarray]:
    """(``QRS_COMPONENTS`` principal directions ``[Q, D]``, their standard deviations ``[Q]``) of
    single beats' deviations ``[m, D]`` from their median beat, seen inside the QRS window only
    (``qrs_taper``; outside it the noise model draws what records carry), over the calmer
    ``BEAT_TRIM_PERCENTILE``% of beats as for the rest of the beat-to-beat variation."""
    finite = deviations[np.isfinite(deviations).all(axis=1)].astype(np.float64)
    window = deviations.shape[1] // leads
    inside = (finite.reshape(len(finite), leads, window) * qrs_taper(window, fs)).reshape(len(finite), -1)
    if len(inside) < 2:
        return np.zeros((0, deviations.shape[1])), np.zeros(0)
    size = np.linalg.norm(inside, axis=1)
    inside = inside[size <= np.percentile(size, BEAT_TRIM_PERCENTILE)]
    _, singular, vt = np.linalg.svd(inside, full_matrices=False)  # about zero: deviations from the median
    q = min(QRS_COMPONENTS, len(singular))
    return vt[:q], singular[:q] / np.sqrt(max(1, len(inside) - 1))


def fit_beat_model(
    beats: np.ndarray, log_rr: np.ndarray, deviations: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], fs: int,
    source: dict[str, Any], components: int = COMPONENTS, min_records: int = MIN_COMBINATION_RECORDS,
) -> BeatModel:  # fmt: skip
    """Fit the per-combination Gaussians to median beats ``[n, D]``, log RR ``[n]`` and 0/1 labels
    ``[n, classes]`` of training records (rows with NaN are left out), and the beat-to-beat spread
    to single beats' ``deviations`` ``[m, D]`` from their median beat."""
    keep = np.isfinite(beats).all(axis=1) & np.isfinite(log_rr) & (labels.sum(axis=1) > 0)
    beats, log_rr, labels = beats[keep], log_rr[keep], (labels[keep] > 0.5).astype(np.uint8)
    combinations, inverse, counts = np.unique(labels, axis=0, return_inverse=True, return_counts=True)
    inverse = inverse.reshape(-1)
    modelled = np.flatnonzero(counts >= min_records)
    if len(modelled) == 0:
        raise DataError(f"no label combination has {min_records} records with median beats; fit on more records")
    order = modelled[np.argsort(-counts[modelled], kind="stable")]
    rows = np.isin(inverse, order)
    augmented = np.concatenate([beats, log_rr[:, None]], axis=1)
    combination_means = np.stack([augmented[inverse == c].mean(axis=0) for c in order])
    position = {int(c): i for i, c in enumerate(order)}
    which = np.array([position.get(int(c), -1) for c in inverse])[rows]
    centred = augmented[rows] - combination_means[which]
    k = min(components, centred.shape[0] - 1, beats.shape[1])
    _, singular, vt = np.linalg.svd(centred[:, :-1], full_matrices=False)
    basis = vt[:k]
    detail = slice(k, min(k + DETAIL_COMPONENTS, len(singular)))
    coordinates = np.concatenate([centred[:, :-1] @ basis.T, centred[:, -1:]], axis=1)
    detail_spread = singular[detail] / np.sqrt(max(1, len(centred) - 1))
    energy = np.ones(len(centred))  # each record's energy in the detail, in units of the mean over all records
    if detail_spread.size:
        energy = ((centred[:, :-1] @ vt[detail].T / np.maximum(detail_spread, 1e-12)) ** 2).mean(axis=1)
    # mixture components: k-means within each combination (bundle-branch blocks and fascicular
    # blocks are all CD; inferior and anterior infarcts all MI): one Gaussian would blend them
    member = np.empty(len(coordinates), dtype=np.int64)
    component_of: list[int] = []
    for i in range(len(order)):
        rows_i = np.flatnonzero(which == i)
        clusters = _kmeans(coordinates[rows_i, :-1], min(MAX_MIXTURE, len(rows_i) // min_records), min_records)
        member[rows_i] = len(component_of) + clusters
        component_of += [i] * (int(clusters.max()) + 1)
    component_counts = np.bincount(member)
    levels = np.linspace(0.0, 1.0, DETAIL_SCALE_LEVELS)
    detail_scales = np.stack([np.quantile(np.sqrt(energy[member == m]), levels) for m in range(len(component_counts))])
    means = np.stack([augmented[rows][member == m].mean(axis=0) for m in range(len(component_counts))])
    local = np.concatenate([(augmented[rows] - means[member])[:, :-1] @ basis.T,
                            (augmented[rows] - means[member])[:, -1:]], axis=1)  # fmt: skip
    pooled = np.cov(local, rowvar=False)
    factors = []
    for m in range(len(component_counts)):
        own = local[member == m]
        n = len(own)
        # shrunk towards its combination's pooled covariance, itself shrunk towards the one over all
        # combinations: the latter alone lent normal beats much of the spread of blocks and hypertrophies
        siblings = local[which == component_of[m]]
        target = (np.cov(siblings, rowvar=False) * (len(siblings) - 1) + pooled * SHRINKAGE_RECORDS) / (
            len(siblings) - 1 + SHRINKAGE_RECORDS
        )
        covariance = (np.cov(own, rowvar=False) * (n - 1) + target * SHRINKAGE_RECORDS) / (n - 1 + SHRINKAGE_RECORDS)
        factors.append(np.linalg.cholesky(covariance + 1e-9 * np.eye(k + 1)))
    within = deviations[np.isfinite(deviations).all(axis=1)] @ basis.T
    size = np.linalg.norm(within, axis=1)
    within = within[size <= np.percentile(size, BEAT_TRIM_PERCENTILE)] if len(within) else within
    beat_covariance = within.T @ within / max(1, len(within) - 1)
    qrs_basis, qrs_spread = _qrs_deviation_components(deviations, len(INDEPENDENT_LEADS), fs)
    explained = float(np.sum(coordinates[:, :-1] ** 2) / np.sum(centred[:, :-1] ** 2))
    return BeatModel(
        classes=tuple(classes),
        leads=INDEPENDENT_LEADS,
        fs=int(fs),
        window_s=BEAT_WINDOW_S,
        combinations=combinations[order].astype(np.float64),
        counts=counts[order].astype(np.int64),
        component_of=np.array(component_of, dtype=np.int64),
        component_counts=component_counts.astype(np.int64),
        means=means,
        basis=basis,
        cholesky=np.stack(factors),
        beat_cholesky=np.linalg.cholesky(beat_covariance + 1e-9 * np.eye(k)),
        detail_basis=vt[detail],
        detail_spread=detail_spread,
        detail_scales=detail_scales,
        qrs_basis=qrs_basis,
        qrs_spread=qrs_spread,
        source={**source, "records": int(rows.sum()), "components": int(k), "mixture_components": len(component_counts),
                "variance_explained": round(explained, 4), "min_records": int(min_records)},
    )  # fmt: skip
