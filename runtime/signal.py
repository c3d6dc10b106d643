"""Signal preprocessing shared by training, benchmark and devices (the one copy).

* ``resample``: windowed-sinc interpolation between any two rates (257, 360, 500,
  1000 Hz -> 100 Hz and back), with an anti-aliasing cutoff when downsampling.
* ``spectral_filter``: zero-phase filtering of whole records through their spectrum.
* ``windows``: fixed-length windows over a long record, for sliding-window inference.
* ``check_finite`` / ``flat_leads``: the checks a record passes before inference.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from runtime.errors import DataError

_HALF_TAPS = 16  # input samples each side of an output sample (at the lower of the two rates)
_KAISER_BETA = 6.0


@functools.lru_cache(maxsize=32)
def _interpolation_kernel(n_in: int, fs_in: float, fs_out: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Tap indices ``[n_out, taps]``, weights and padding for one (length, rate pair); cached."""
    n_out = round(n_in * fs_out / fs_in)
    ratio = fs_in / fs_out
    cutoff = min(1.0, 1.0 / ratio)  # relative to the input Nyquist
    half = int(np.ceil(_HALF_TAPS / cutoff))
    positions = np.arange(n_out) * ratio
    base = np.floor(positions).astype(np.int64)
    offsets = np.arange(-half + 1, half + 1)
    taps = base[:, None] + offsets[None, :]
    distance = positions[:, None] - taps
    span = np.clip(distance / (half + 1), -1.0, 1.0)
    window = np.i0(_KAISER_BETA * np.sqrt(1.0 - span**2)) / np.i0(_KAISER_BETA)
    weights = cutoff * np.sinc(cutoff * distance) * window
    weights /= weights.sum(axis=1, keepdims=True)
    taps.setflags(write=False)
    weights.setflags(write=False)
    return taps, weights, half


def resample(signal: np.ndarray, fs_in: float, fs_out: float) -> np.ndarray:
    """Resample ``signal[..., samples]`` from ``fs_in`` to ``fs_out`` Hz.

    Each output sample is a Kaiser-windowed sinc interpolation of the input; when
    downsampling the sinc is stretched so it also low-passes at the new Nyquist rate.
    Edges are handled by reflecting the signal.  Output length is
    ``round(samples * fs_out / fs_in)``.
    """
    if fs_in <= 0 or fs_out <= 0:
        raise DataError(f"sampling rates must be positive (got {fs_in} -> {fs_out} Hz)")
    x = np.asarray(signal, dtype=np.float64)
    if fs_in == fs_out:
        return x.astype(np.float32)
    n_in = x.shape[-1]
    if n_in < 2 or round(n_in * fs_out / fs_in) < 1:
        raise DataError(f"signal of {n_in} samples is too short to resample")
    taps, weights, half = _interpolation_kernel(n_in, float(fs_in), float(fs_out))
    padded = np.pad(x, [(0, 0)] * (x.ndim - 1) + [(half, half)], mode="reflect" if n_in > half else "edge")
    factor = fs_in / fs_out
    if factor == int(factor) and factor > 1:
        return _decimate(padded, weights[0], int(factor), taps.shape[0]).astype(np.float32)
    gathered = padded[..., taps + half]
    return np.einsum("...ot,ot->...o", gathered, weights).astype(np.float32)


def spectral_filter(signal: np.ndarray, fs: float, response: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Filter ``signal[..., samples]`` with zero phase by multiplying its spectrum over the whole record
    by ``response(frequencies in Hz)`` (a real gain per frequency bin), in the signal's precision."""
    samples = signal.shape[-1]
    gain = response(np.fft.rfftfreq(samples, 1.0 / fs)).astype(np.result_type(signal.dtype, np.float32))
    return np.fft.irfft(np.fft.rfft(signal, axis=-1) * gain, n=samples, axis=-1)


def _decimate(padded: np.ndarray, kernel: np.ndarray, factor: int, n_out: int) -> np.ndarray:
    """Integer-factor case of ``resample``: the same kernel for every output, as polyphase FIR.

    Output ``m`` is ``sum_j kernel[j] * padded[m * factor + j + 1]`` (taps start one sample
    after the window's left edge); splitting ``j`` by phase turns it into ``factor`` short
    correlations, which is ~10x faster than gathering every tap.
    """
    taps = kernel.shape[0]
    shift = 1  # offsets run from -half + 1, and padded index = tap + half
    groups = -(-taps // factor)
    padded_kernel = np.zeros(groups * factor)
    padded_kernel[:taps] = kernel
    phases = padded_kernel.reshape(groups, factor)  # phases[q, p] = kernel[q * factor + p]
    need = (n_out + groups) * factor + shift
    source = padded[..., shift:need]
    if source.shape[-1] < need - shift:
        source = np.pad(source, [(0, 0)] * (source.ndim - 1) + [(0, need - shift - source.shape[-1])], mode="edge")
    blocks = source.reshape(*source.shape[:-1], n_out + groups, factor)  # blocks[..., k, p] = x[k * factor + p]
    out = np.zeros((*source.shape[:-1], n_out))
    for q in range(groups):
        out += blocks[..., q : q + n_out, :] @ phases[q]
    return out


@dataclass(frozen=True)
class WindowPlan:
    """Where the windows of a record start, and how much padding the last needed."""

    starts: tuple[int, ...]
    padded: int


def plan_windows(samples: int, window: int, hop: int, min_fraction: float = 0.5) -> WindowPlan:
    """Plan sliding windows of ``window`` samples every ``hop`` samples.

    A record shorter than ``window`` is padded (with its edge values) if it has at least
    ``min_fraction`` of a window, otherwise refused.  The last window is aligned to the
    record's end so every sample is covered.
    """
    if window <= 0 or hop <= 0:
        raise DataError(f"window and hop must be positive (got {window}, {hop})")
    if samples < window:
        if samples < min_fraction * window:
            raise DataError(
                f"record has {samples} samples but the model needs at least "
                f"{int(np.ceil(min_fraction * window))} (window {window})"
            )
        return WindowPlan(starts=(0,), padded=window - samples)
    starts = list(range(0, samples - window + 1, hop))
    if starts[-1] + window < samples:
        starts.append(samples - window)
    return WindowPlan(starts=tuple(starts), padded=0)


def windows(signal: np.ndarray, window: int, hop: int, min_fraction: float = 0.5) -> np.ndarray:
    """Cut ``signal[leads, samples]`` into ``[n_windows, leads, window]``."""
    plan = plan_windows(signal.shape[-1], window, hop, min_fraction)
    if plan.padded:
        signal = np.pad(signal, [(0, 0), (0, plan.padded)], mode="edge")
    return np.stack([signal[:, start : start + window] for start in plan.starts]).astype(np.float32)


def check_finite(signal: np.ndarray, source: str, lead_names: tuple[str, ...] | None = None) -> None:
    """Refuse NaN or infinite samples, naming the first lead that has them."""
    bad = ~np.isfinite(signal)
    if bad.any():
        lead = int(np.argwhere(bad.any(axis=-1))[0][0]) if signal.ndim > 1 else 0
        name = lead_names[lead] if lead_names and lead < len(lead_names) else f"#{lead}"
        raise DataError(
            f"{source}: lead {name} has {int(bad.sum())} NaN/infinite samples; clean or interpolate the recording first"
        )


def flat_leads(signal: np.ndarray, lead_names: tuple[str, ...], min_range_mv: float = 0.01) -> list[str]:
    """Names of leads whose peak-to-peak range is below ``min_range_mv`` (likely lead-off)."""
    ranges = np.ptp(signal, axis=-1)
    return [name for name, value in zip(lead_names, ranges, strict=False) if value < min_range_mv]
