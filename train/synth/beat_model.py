"""A statistical model of 12-lead median beats, fitted to real PTB-XL's training folds (generator version 3).

Version 2 builds every beat from a handful of Gaussian waves along dipole directions; its
parameters were fitted to real statistics, but a small CNN still tells its records from real ones
(discriminator AUC 0.998) and a model trained on them reaches 0.78 on real records.  This model
describes beats the way the real training folds show them instead:

* every training record's median beat (``fidelity.median_beats``: around its lead-II R peaks,
  levelled at the PR segment) in the eight independent leads I, II, V1-V6, at the cache's rate,
  and the log of its median RR interval;
* per *label combination* (the set of superclasses a record carries, e.g. ``MI+CD``) with at least
  ``MIN_COMBINATION_RECORDS`` training records: the mean beat and how often the combination occurs;
* one shared basis of ``COMPONENTS`` principal components of the beats around their combination's
  mean, and per combination the covariance of the records' coordinates in it (with the log RR),
  shrunk towards the pooled covariance by ``SHRINKAGE_RECORDS`` pseudo-records.

Sampling a beat is drawing coordinates from the combination's Gaussian.  What the package ships
(``beat_model.npz``) are these means, the basis and the Cholesky factors: statistics over at
least ``MIN_COMBINATION_RECORDS`` records each, no record's signal.  They derive from PTB-XL
(CC BY 4.0; see ``MODEL_CARD``).  ``tools/fit_beat_model.py REAL_CACHE`` refits them.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.interpolate import CubicSpline

from runtime.errors import DataError
from train.synth.fidelity import BEAT_WINDOW_S, lead_ii_peaks, median_beats

INDEPENDENT_LEADS = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")  # the other four follow from I and II
COMPONENTS = 40
MIN_COMBINATION_RECORDS = 60
SHRINKAGE_RECORDS = 100.0
QRS_END_S = 0.08  # after the R peak: what follows (ST, T) stretches with the beat's RR interval
STRETCH_RANGE = (0.8, 1.25)
HEAD_TAPER_S = 0.04  # a beat fades in over its window's first 40 ms ...
TAIL_GAP_S = 0.22  # ... and out over the 40 ms before this long ahead of the next R peak
P_WAVE_S = (-0.25, -0.10)  # where atrial fibrillation removes the P wave, relative to the R peak
MODEL_PATH = Path(__file__).with_name("beat_model.npz")
NOISE_MODEL_PATH = Path(__file__).with_name("noise_model.npz")
MODEL_CARD = (
    "Statistics of PTB-XL's training folds 1-8 (Wagner et al., PTB-XL, a large publicly available "
    "electrocardiography dataset, PhysioNet, CC BY 4.0): per label combination the mean median beat and the "
    "covariance of its principal-component coordinates; the spectra and lead correlation of what records carry "
    "besides their median beat; no record's signal."
)


@dataclass(frozen=True)
class BeatModel:
    """Per label combination, a Gaussian over median beats ``[leads, window]`` and log RR."""

    classes: tuple[str, ...]
    leads: tuple[str, ...]
    fs: int
    window_s: tuple[float, float]
    combinations: np.ndarray  # [C, classes] 0/1: which superclasses each combination carries
    counts: np.ndarray  # [C] training records of each combination
    means: np.ndarray  # [C, D + 1]: mean beat (leads x window, flattened) and mean log RR
    basis: np.ndarray  # [K, D]: orthonormal principal components of beats around their combination's mean
    cholesky: np.ndarray  # [C, K + 1, K + 1]: of the covariance of (coordinates, log RR)
    source: dict[str, Any]

    @property
    def window(self) -> int:
        return int(self.basis.shape[1] // len(self.leads))

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

    def sample(self, index: int, standard_normal: np.ndarray, spread: float = 1.0) -> tuple[np.ndarray, float]:
        """(median beat ``[leads, window]`` in mV, RR interval in s) of combination ``index`` for
        standard-normal coordinates ``[K + 1]``; ``spread`` scales the between-record variation."""
        drawn = spread * (self.cholesky[index] @ standard_normal)
        k = self.basis.shape[0]
        beat = self.means[index, :-1] + drawn[:k] @ self.basis
        rr = float(np.exp(self.means[index, -1] + drawn[k]))
        return beat.reshape(len(self.leads), self.window), rr

    def to_bytes(self) -> bytes:
        """The model as a compressed ``.npz`` (float32 arrays and a JSON header)."""
        header = {"classes": self.classes, "leads": self.leads, "fs": self.fs, "window_s": self.window_s,
                  "source": self.source, "card": MODEL_CARD}  # fmt: skip
        arrays = {"combinations": self.combinations, "counts": self.counts, "means": self.means,
                  "basis": self.basis, "cholesky": self.cholesky}  # fmt: skip
        return pack_arrays(header, arrays)

    @classmethod
    def load(cls, path: str | Path = MODEL_PATH) -> BeatModel:
        """Read a model written by ``to_bytes`` (the packaged one by default)."""
        header, arrays = unpack_arrays(path, ("combinations", "counts", "means", "basis", "cholesky"))
        try:
            return cls(
                classes=tuple(header["classes"]),
                leads=tuple(header["leads"]),
                fs=int(header["fs"]),
                window_s=(float(header["window_s"][0]), float(header["window_s"][1])),
                counts=arrays.pop("counts").astype(np.int64),
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


def _smoothstep(x: np.ndarray) -> np.ndarray:
    clipped = np.clip(x, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * clipped)


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


def record_beats(signals: np.ndarray, leads: tuple[str, ...], fs: float) -> tuple[np.ndarray, np.ndarray]:
    """(median beats ``[n, INDEPENDENT_LEADS, window]`` flattened to ``[n, D]``, log median RR ``[n]``)
    of records ``[n, 12, samples]`` in mV; rows are NaN where fewer than 3 beats were found."""
    peaks = lead_ii_peaks(signals, list(leads), fs)
    chosen = [leads.index(name) for name in INDEPENDENT_LEADS]
    beats = median_beats(signals[:, chosen], peaks, fs)
    log_rr = np.array([np.log(np.median(np.diff(p)) / fs) if len(p) >= 3 else np.nan for p in peaks])
    return beats.reshape(len(signals), -1).astype(np.float64), log_rr


def fit_beat_model(
    beats: np.ndarray, log_rr: np.ndarray, labels: np.ndarray, classes: tuple[str, ...], fs: int,
    source: dict[str, Any], components: int = COMPONENTS, min_records: int = MIN_COMBINATION_RECORDS,
) -> BeatModel:  # fmt: skip
    """Fit the per-combination Gaussians to median beats ``[n, D]``, log RR ``[n]`` and 0/1 labels
    ``[n, classes]`` of training records (rows with NaN are left out)."""
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
    means = np.stack([augmented[inverse == c].mean(axis=0) for c in order])
    position = {int(c): i for i, c in enumerate(order)}
    which = np.array([position.get(int(c), -1) for c in inverse])
    centred = augmented[rows] - means[which[rows]]
    k = min(components, centred.shape[0] - 1, beats.shape[1])
    _, _, vt = np.linalg.svd(centred[:, :-1], full_matrices=False)
    basis = vt[:k]
    coordinates = np.concatenate([centred[:, :-1] @ basis.T, centred[:, -1:]], axis=1)
    pooled = np.cov(coordinates, rowvar=False)
    group = which[rows]
    factors = []
    for i in range(len(order)):
        own = coordinates[group == i]
        n = len(own)
        covariance = (np.cov(own, rowvar=False) * (n - 1) + pooled * SHRINKAGE_RECORDS) / (n - 1 + SHRINKAGE_RECORDS)
        factors.append(np.linalg.cholesky(covariance + 1e-9 * np.eye(k + 1)))
    explained = float(np.sum(coordinates[:, :-1] ** 2) / np.sum(centred[:, :-1] ** 2))
    return BeatModel(
        classes=tuple(classes),
        leads=INDEPENDENT_LEADS,
        fs=int(fs),
        window_s=BEAT_WINDOW_S,
        combinations=combinations[order].astype(np.float64),
        counts=counts[order].astype(np.int64),
        means=means,
        basis=basis,
        cholesky=np.stack(factors),
        source={**source, "records": int(rows.sum()), "components": int(k),
                "variance_explained": round(explained, 4), "min_records": int(min_records)},
    )  # fmt: skip
