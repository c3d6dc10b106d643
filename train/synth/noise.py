"""Recording noise added at the electrodes, so it reaches the leads the way real noise does.

Baseline wander (respiration and movement), muscle noise with occasional bursts,
powerline interference (50 Hz) and occasional electrode artefacts (a pop with an
exponential recovery).  Returns the noise and the PTB-XL-style quality flags it implies.
"""

from __future__ import annotations

import numpy as np


def electrode_noise(
    rng: np.random.Generator, electrodes: int, n: int, fs: int, emg_scale: float = 1.0
) -> tuple[np.ndarray, dict[str, str]]:
    """Noise ``[electrodes, n]`` in mV plus quality flags (baseline_drift, burst_noise, ...);
    ``emg_scale`` multiplies the muscle noise level (the ptbxl-filter acquisition doubles it)."""
    t = np.arange(n) / fs
    noise = np.zeros((electrodes, n))
    flags: dict[str, str] = {}
    # baseline wander: a shared respiratory component plus per-electrode slow drifts
    resp = rng.uniform(0.15, 0.35)
    drift_scale = float(np.exp(rng.normal(np.log(0.05), 0.6)))
    shared = drift_scale * np.sin(2 * np.pi * resp * t + rng.uniform(0, 2 * np.pi))
    noise += shared[None, :] * rng.uniform(0.3, 1.2, size=(electrodes, 1))
    amps = drift_scale * rng.uniform(0.2, 1.0, size=(electrodes, 2, 1))
    freqs = rng.uniform(0.03, 0.5, size=(electrodes, 2, 1))
    phases = rng.uniform(0, 2 * np.pi, size=(electrodes, 2, 1))
    noise += (amps * np.sin(2 * np.pi * freqs * t[None, None, :] + phases)).sum(axis=1)
    if drift_scale > 0.12:
        flags["baseline_drift"] = "alles" if drift_scale > 0.2 else ", V1-V6"
    # muscle noise (broadband), sometimes a burst
    emg = emg_scale * float(np.exp(rng.normal(np.log(0.008), 0.5)))
    noise += rng.normal(0.0, emg, size=noise.shape)
    if rng.random() < 0.08:
        start = int(rng.uniform(0, 0.8) * n)
        length = int(rng.uniform(0.5, 2.5) * fs)
        which = rng.random(electrodes) < 0.5
        noise[which, start : start + length] += rng.normal(
            0.0, 4 * emg + 0.02, size=(int(which.sum()), len(range(start, min(n, start + length))))
        )
        flags["burst_noise"] = "alles"
    # powerline interference at 50 Hz, slightly different at each electrode
    line = rng.uniform(0.0, 0.02)
    if line > 0:
        phase = rng.uniform(0, 2 * np.pi)
        noise += line * rng.uniform(0.7, 1.3, size=(electrodes, 1)) * np.sin(2 * np.pi * 50.0 * t + phase)
        if line > 0.015:
            flags["static_noise"] = "alles"
    # electrode artefact: a pop and exponential recovery on one electrode
    if rng.random() < 0.04:
        e = int(rng.integers(electrodes))
        start = int(rng.uniform(0.05, 0.9) * n)
        amp = rng.uniform(0.4, 2.0) * rng.choice([-1, 1])
        noise[e, start:] += amp * np.exp(-(t[start:] - t[start]) / rng.uniform(0.2, 0.8))
        flags["electrodes_problems"] = ("RA", "LA", "LL", "V1", "V2", "V3", "V4", "V5", "V6")[e] if e < 9 else "alles"
    return noise, flags
