"""How close is the synthetic default to real PTB-XL? Statistics of both, side by side, and a discriminator.

``train synth-report --real REAL --synthetic SYNTH -o DIR`` reads the training split of each
prepared dataset only (PTB-XL folds 1-8: validation and test folds never feed it) and writes
``fidelity.json`` and PNG plots:

* per lead: peak-to-peak amplitude, RMS and record-mean distributions (percentiles);
* heart rate and beat-to-beat variability (RR standard deviation) from R peaks found on lead II
  (a derivative-energy detector with a 250 ms refractory period), overall and per class;
* frontal QRS axis from the net areas of leads I and aVF;
* median beats per class: each record's median beat around its lead-II R peaks, then the median
  over the class's records, with its P, R, S and T peak amplitudes per lead (the beat shape the
  synthetic normal beat is fitted to: tools/fit_normal_beat.py) and, per class, the RMS
  difference between the real and synthetic median beats;
* power spectra per lead (Welch, 2.56 s windows) and band powers: baseline (< 0.5 Hz),
  P/T (0.5-5), QRS (5-15), high (15-40 Hz); and the 30-50 Hz power inside the QRS complexes
  and between them, per lead (``high_band_power``);
* a discriminator: a small CNN trained to tell real from synthetic records on 60% of the
  sampled records until it stops improving on another 20%, scored (ROC AUC) on the last 20%
  (0.5: indistinguishable), for ``DISCRIMINATOR_RUNS`` seeds, of which the best-validating run
  is reported; and the same on
  band-limited copies (``DISCRIMINATOR_BANDS``), which says where the generator gives itself
  away: in the beats (0.5-15 Hz) or in the noise and sharp edges (15-45 Hz).

PR, QRS and QT intervals need wave delineation, which this report does not attempt.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from runtime.atomic import atomic_write_figure, atomic_write_text
from runtime.dataset.cache import PreparedDataset
from runtime.metrics import roc_auc
from runtime.progress import log
from runtime.signal import spectral_filter

BANDS = (("baseline <0.5 Hz", 0.0, 0.5), ("P/T 0.5-5 Hz", 0.5, 5.0), ("QRS 5-15 Hz", 5.0, 15.0),
         ("high 15-40 Hz", 15.0, 40.0))  # fmt: skip
PERCENTILES = (5, 25, 50, 75, 95)
DISCRIMINATOR_BANDS = (("0.5-15 Hz", 0.5, 15.0), ("15-45 Hz", 15.0, 45.0))
BEAT_WINDOW_S = (-0.3, 0.6)  # the median beat, around each lead-II R peak
QRS_WINDOW_S = (-0.08, 0.1)  # the QRS complex, around each R peak
HIGH_BAND_HZ = (30.0, 50.0)  # where real records carry the most power that synthetic ones lack
REPEATED_MV = 1e-4  # successive samples closer than this hold the same stored value (1 uV steps)
# where each wave's peak is read off a median beat, seconds from the R peak; the level of the PR
# segment is the beat's zero (the baseline under P and T)
WAVE_WINDOWS_S = {"P": (-0.25, -0.08), "R": (-0.04, 0.04), "S": (0.0, 0.08), "T": (0.15, 0.45)}
PR_SEGMENT_S = (-0.07, -0.04)


def real_records_parser(doc: str, records: int = 2000,
                        records_help: str = "real training records") -> argparse.ArgumentParser:  # fmt: skip
    """The command line every diagnostic of real training records in tools/ starts from: its
    description (the first line of ``doc``), REAL_CACHE, ``--records`` and ``--seed`` (of
    ``training_records``' sample)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("real_cache")
    parser.add_argument("--records", type=int, default=records, help=f"{records_help} (default {records})")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def comparison_parser(doc: str, records: int = 2000,
                      records_help: str = "training records of each") -> argparse.ArgumentParser:  # fmt: skip
    """The command line every real-vs-synthetic diagnostic in tools/ starts from: ``real_records_parser``'s
    and SYNTHETIC_CACHE after REAL_CACHE."""
    parser = real_records_parser(doc, records, records_help)
    parser.add_argument("synthetic_cache")
    return parser


def training_records(dataset: PreparedDataset, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(mV signals [n, 12, samples], labels [n, classes]) of a seeded sample of the training split."""
    indices = dataset.sample("train", count, seed, salt=29)
    return dataset.millivolts(indices).astype(np.float32), np.asarray(dataset.labels[indices])


def r_peaks(lead: np.ndarray, fs: float) -> np.ndarray:
    """R-peak sample positions of one lead: peaks of the squared derivative above 30% of its 99th
    percentile, at least 250 ms apart, each moved to the largest |amplitude| within 50 ms."""
    energy = np.diff(lead, prepend=lead[:1]) ** 2
    kernel = np.ones(max(1, int(0.08 * fs))) / max(1, int(0.08 * fs))
    energy = np.convolve(energy, kernel, mode="same")
    threshold = 0.3 * np.percentile(energy, 99)
    candidates = (
        np.flatnonzero((energy[1:-1] > threshold) & (energy[1:-1] >= energy[:-2]) & (energy[1:-1] >= energy[2:])) + 1
    )
    peaks: list[int] = []
    refractory = int(0.25 * fs)
    for position in candidates:
        if peaks and position - peaks[-1] < refractory:
            if energy[position] > energy[peaks[-1]]:
                peaks[-1] = int(position)
            continue
        peaks.append(int(position))
    half = int(0.05 * fs)
    return np.array([max(0, p - half) + int(np.argmax(np.abs(lead[max(0, p - half) : p + half]))) for p in peaks])


def rhythm(peaks_per_record: list[np.ndarray], fs: float) -> tuple[np.ndarray, np.ndarray]:
    """Per record: heart rate (bpm) and RR standard deviation (ms), NaN where < 3 beats were found."""
    rates, variability = [], []
    for peaks in peaks_per_record:
        rr = np.diff(peaks) / fs
        if len(rr) >= 2:
            rates.append(60.0 / float(np.median(rr)))
            variability.append(float(np.std(rr) * 1000))
        else:
            rates.append(np.nan)
            variability.append(np.nan)
    return np.array(rates), np.array(variability)


def pr_segment(fs: float) -> slice:
    """The samples of a beat window (``BEAT_WINDOW_S``) that are its zero: the PR segment."""
    before = int(round(-BEAT_WINDOW_S[0] * fs))
    return slice(before + int(round(PR_SEGMENT_S[0] * fs)), before + int(round(PR_SEGMENT_S[1] * fs)))


def beat_windows(record: np.ndarray, peaks: np.ndarray, fs: float) -> np.ndarray:
    """The windows ``[beats, leads, window]`` (``BEAT_WINDOW_S`` around each R peak) of the beats
    that fit whole in ``record`` ``[leads, samples]``, as recorded (not levelled)."""
    before, after = int(round(-BEAT_WINDOW_S[0] * fs)), int(round(BEAT_WINDOW_S[1] * fs))
    inside = peaks[(peaks >= before) & (peaks + after <= record.shape[-1])]
    if len(inside) == 0:
        return np.zeros((0, record.shape[0], before + after), dtype=record.dtype)
    return np.stack([record[:, p - before : p + after] for p in inside])


def median_beats(signals: np.ndarray, peaks_per_record: list[np.ndarray], fs: float) -> np.ndarray:
    """Each record's median beat ``[n, leads, window]`` (``BEAT_WINDOW_S`` around its R peaks; NaN
    where fewer than 3 whole beats fit in the record), levelled at its PR segment."""
    before, after = int(round(-BEAT_WINDOW_S[0] * fs)), int(round(BEAT_WINDOW_S[1] * fs))
    zero = pr_segment(fs)
    beats = np.full((len(signals), signals.shape[1], before + after), np.nan, dtype=np.float32)
    for index, (record, peaks) in enumerate(zip(signals, peaks_per_record, strict=True)):
        windows = beat_windows(record, peaks, fs)
        if len(windows) >= 3:
            beat = np.median(windows, axis=0)
            beats[index] = beat - beat[:, zero].mean(axis=1, keepdims=True)
    return beats


def wave_window(wave: str, fs: float) -> slice:
    """The samples of a median beat (``BEAT_WINDOW_S``) in which ``wave`` is looked for (``WAVE_WINDOWS_S``)."""
    before = int(round(-BEAT_WINDOW_S[0] * fs))
    start, stop = WAVE_WINDOWS_S[wave]
    return slice(before + int(round(start * fs)), before + int(round(stop * fs)))


def wave_peak_arrays(beats: np.ndarray, fs: float) -> dict[str, np.ndarray]:
    """P/R/S/T peak amplitudes of median beats ``[..., leads, window]`` -> ``[..., leads]`` per wave.

    P and T: the largest deflection (signed) in their windows; R: the most positive value around
    the R peak (0 where the QRS is all negative); S: the most negative value after it."""
    peaks = {}
    for wave in WAVE_WINDOWS_S:
        window = beats[..., wave_window(wave, fs)]
        if wave == "S":
            peaks[wave] = window.min(axis=-1)
        elif wave == "R":
            peaks[wave] = np.maximum(window.max(axis=-1), 0.0)
        else:
            largest = np.abs(np.nan_to_num(window)).argmax(axis=-1)[..., None]
            peaks[wave] = np.take_along_axis(window, largest, axis=-1)[..., 0]
    return peaks


def wave_peaks(beat: np.ndarray, fs: float) -> dict[str, list[float]]:
    """Per lead, the P/R/S/T peak amplitudes of one median beat ``[leads, window]`` (rounded, JSON-ready)."""
    return {wave: [round(float(v), 4) for v in values] for wave, values in wave_peak_arrays(beat, fs).items()}


def lead_ii_peaks(signals: np.ndarray, leads: list[str], fs: float) -> list[np.ndarray]:
    """R-peak positions of every record, found on lead II (rhythm and median beats both use them)."""
    return [r_peaks(record, fs) for record in signals[:, leads.index("II")]]


def single_class_beats(beats: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict[str, np.ndarray]:
    """Per class, the rows of ``beats`` that were found (finite) in records carrying only that label:
    what a class looks like without another class's changes mixed in."""
    found = np.isfinite(beats[:, 0, 0])
    only = (labels > 0.5).sum(axis=1) == 1
    rows = {name: found & (labels[:, k] > 0.5) & only for k, name in enumerate(classes)}
    return {name: np.flatnonzero(chosen) for name, chosen in rows.items() if chosen.any()}


def class_median_beats(beats: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict[str, np.ndarray]:
    """Per class, the median over its single-class records of their median beats."""
    return {name: np.median(beats[rows], axis=0) for name, rows in single_class_beats(beats, labels, classes).items()}


def class_wave_peaks(beats: np.ndarray, labels: np.ndarray, classes: list[str], leads: list[str],
                     fs: float) -> dict[str, dict[str, dict[str, dict[str, float]]]]:  # fmt: skip
    """Per class (its single-class records), lead and wave: percentiles over records of each record's
    median-beat P/R/S/T peak: how much beats vary between records, which class medians hide."""
    table: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
    for name, rows in single_class_beats(beats, labels, classes).items():
        peaks = wave_peak_arrays(beats[rows], fs)
        table[name] = {lead: {wave: _percentiles(values[:, i]) for wave, values in peaks.items()}
                       for i, lead in enumerate(leads)}  # fmt: skip
    return table


def spread_ratio(real: dict[str, Any], synthetic: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per class and wave, the geometric mean over leads of the synthetic / real interquartile range
    of record-level wave peaks (1 = as varied as the real records; 2 = twice as varied; 1 uV is
    added to both ranges so that a lead with no such wave stays finite)."""
    ratios: dict[str, dict[str, float]] = {}
    for name, real_leads in real.items():
        if name not in synthetic:
            continue
        ratios[name] = {}
        for wave in WAVE_WINDOWS_S:
            logs = [np.log((synthetic[name][lead][wave]["p75"] - synthetic[name][lead][wave]["p25"] + 1e-3)
                           / (stats[wave]["p75"] - stats[wave]["p25"] + 1e-3))
                    for lead, stats in real_leads.items() if stats[wave] and synthetic[name][lead][wave]]  # fmt: skip
            if logs:
                ratios[name][wave] = round(float(np.exp(np.mean(logs))), 3)
    return ratios


def _wave_table(beat: np.ndarray | None, leads: list[str], fs: float) -> dict[str, dict[str, float]]:
    if beat is None:
        return {}
    peaks = wave_peaks(beat, fs)
    return {lead: {wave: values[i] for wave, values in peaks.items()} for i, lead in enumerate(leads)}


def qrs_axis(signals: np.ndarray, lead_i: int, lead_avf: int) -> np.ndarray:
    """Frontal axis (degrees) from the net area of leads I and aVF over the record (baseline removed)."""
    centred = signals - np.median(signals, axis=2, keepdims=True)
    return np.degrees(np.arctan2(centred[:, lead_avf].sum(axis=1), centred[:, lead_i].sum(axis=1)))


def spectra(signals: np.ndarray, fs: float, window: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(frequencies, mean power spectral density per lead) with Welch's method (Hann, half overlap)."""
    taper = np.hanning(window)
    starts = range(0, signals.shape[2] - window + 1, window // 2)
    segments = np.stack([signals[:, :, s : s + window] for s in starts], axis=2)  # [n, leads, segments, window]
    segments = segments - segments.mean(axis=3, keepdims=True)
    power = np.abs(np.fft.rfft(segments * taper, axis=3)) ** 2 / (fs * (taper**2).sum())
    return np.fft.rfftfreq(window, 1 / fs), power.mean(axis=(0, 2))


def qrs_mask(samples: int, r_times: np.ndarray, fs: float) -> np.ndarray:
    """Which of a record's ``samples`` lie inside a QRS window (``QRS_WINDOW_S`` around each R
    peak, ``r_times`` in seconds)."""
    t = np.arange(samples) / fs
    inside = np.zeros(samples, dtype=bool)
    for r_time in r_times:
        inside |= (t > r_time + QRS_WINDOW_S[0]) & (t < r_time + QRS_WINDOW_S[1])
    return inside


def high_band_split(signals: np.ndarray, r_times: list[np.ndarray], fs: float) -> tuple[np.ndarray, np.ndarray]:
    """(inside the QRS windows, between them) ``[n, leads]``: the ``HIGH_BAND_HZ`` power of records
    ``[n, leads, samples]`` in mV, summed over those samples and divided by the record's length (mV^2)."""
    power = band_limited(signals, fs, *HIGH_BAND_HZ).astype(np.float64) ** 2
    inside = np.stack([qrs_mask(signals.shape[-1], times, fs) for times in r_times])[:, None, :]
    samples = signals.shape[-1]
    return (power * inside).sum(axis=-1) / samples, (power * ~inside).sum(axis=-1) / samples


def repeated_samples(signals: np.ndarray) -> np.ndarray:
    """Where a record holds still: successive samples ``[..., samples - 1]`` equal to the stored
    resolution (1 uV: closer than 0.1 uV once read back in mV)."""
    return np.abs(np.diff(signals, axis=-1)) < REPEATED_MV


def high_band_power(signals: np.ndarray, peaks: list[np.ndarray], fs: float, leads: list[str]) -> dict[str, Any]:
    """Per lead, percentiles over records (those with R peaks) of ``high_band_split``'s power in
    uV^2 inside the QRS windows (around each lead-II R peak) and between them: is a
    high-frequency gap in the beats or in the noise?"""
    found = [i for i, p in enumerate(peaks) if len(p)]
    qrs, between = high_band_split(signals[found], [peaks[i] / fs for i in found], fs)
    return {"qrs": {lead: _percentiles(qrs[:, i] * 1e6) for i, lead in enumerate(leads)},
            "between": {lead: _percentiles(between[:, i] * 1e6) for i, lead in enumerate(leads)},
            "unit": "uV^2", "band_hz": list(HIGH_BAND_HZ)}  # fmt: skip


def _percentiles(values: np.ndarray) -> dict[str, float]:
    finite = values[np.isfinite(values)]
    return {f"p{q}": round(float(np.percentile(finite, q)), 4) for q in PERCENTILES} if len(finite) else {}


def describe(signals: np.ndarray, labels: np.ndarray, dataset: PreparedDataset) -> dict[str, Any]:
    """The statistics of one sample of records (JSON-ready)."""
    fs = float(dataset.fs)
    leads = list(dataset.leads)
    peaks = lead_ii_peaks(signals, leads, fs)
    rates, variability = rhythm(peaks, fs)
    beats = median_beats(signals, peaks, fs)
    class_beats = class_median_beats(beats, labels, list(dataset.classes))
    record_peaks = class_wave_peaks(beats, labels, list(dataset.classes), leads, fs)
    frequencies, psd = spectra(signals, fs)
    total = psd.sum(axis=1, keepdims=True)
    bands = {name: [round(float(v), 4) for v in psd[:, (frequencies >= low) & (frequencies < high)].sum(axis=1) / total[:, 0]]
             for name, low, high in BANDS}  # fmt: skip
    per_class = {}
    for k, name in enumerate(dataset.classes):
        rows = labels[:, k] > 0.5
        per_class[name] = {"records": int(rows.sum()), "heart_rate": _percentiles(rates[rows]),
                           "rr_sd_ms": _percentiles(variability[rows]),
                           "peak_to_peak_II": _percentiles(np.ptp(signals[rows, leads.index("II")], axis=1)),
                           "median_beat_mv": _wave_table(class_beats.get(name), leads, fs),
                           "record_wave_peaks_mv": record_peaks.get(name, {})}  # fmt: skip
    return {
        "records": len(signals),
        "peak_to_peak_mv": {lead: _percentiles(np.ptp(signals[:, i], axis=1)) for i, lead in enumerate(leads)},
        "rms_mv": {lead: _percentiles(np.sqrt(np.mean(signals[:, i] ** 2, axis=1))) for i, lead in enumerate(leads)},
        "record_mean_mv": {lead: _percentiles(np.mean(signals[:, i], axis=1)) for i, lead in enumerate(leads)},
        "heart_rate_bpm": _percentiles(rates),
        "rr_sd_ms": _percentiles(variability),
        "beats_found": float(np.mean(np.isfinite(rates))),
        "qrs_axis_deg": _percentiles(qrs_axis(signals, leads.index("I"), leads.index("aVF"))),
        "band_power_share": {name: dict(zip(leads, values, strict=True)) for name, values in bands.items()},
        "high_band_power": high_band_power(signals, peaks, fs, leads),
        "per_class": per_class,
        "_psd": (frequencies, psd, rates, variability),
        "_beats": class_beats,
    }


def band_limited(signals: np.ndarray, fs: float, low: float, high: float) -> np.ndarray:
    """The ``low``-``high`` Hz band of each whole record (the same filter for both datasets)."""
    band = spectral_filter(
        signals, fs, lambda frequencies: ((frequencies >= low) & (frequencies <= high)).astype(float)
    )
    return band.astype(np.float32)


DISCRIMINATOR_MAX_EPOCHS = 20
DISCRIMINATOR_PATIENCE = 5  # epochs without a better validation AUC before the discriminator stops
# seeds seed, seed + 1, ...: one run's AUC moves by a few points, and a run that has not found a cue by the
# time it stops scores near 0.5; the report gives the held-out AUC of the run that validates best
DISCRIMINATOR_RUNS = 3
DISCRIMINATOR_SPLIT = (0.6, 0.8)  # train / choose the epoch / score: cumulative shares of the shuffled records


@dataclass
class TrainedDiscriminator:
    """A discriminator trained by ``train_discriminator``: the network (real: a positive logit), the
    per-lead normalization it was trained with (``mean``, ``std`` ``[1, leads, 1]``), the records it saw
    (``x`` normalized, ``y``: 1 real, 0 synthetic), which of them it was scored on (``held``), and its
    validation and held-out ROC AUC at its best epoch."""

    net: Any
    mean: np.ndarray
    std: np.ndarray
    x: np.ndarray
    y: np.ndarray
    held: np.ndarray
    validation_auc: float
    held_auc: float

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Logits ``[n]`` of normalized records ``x`` ``[n, leads, samples]``."""
        import torch

        self.net.eval()
        with torch.no_grad():
            batches = [self.net(torch.from_numpy(np.ascontiguousarray(x[i : i + 256], dtype=np.float32)))[:, 0]
                       for i in range(0, len(x), 256)]  # fmt: skip
            return torch.cat(batches).numpy()


def train_discriminator(real: np.ndarray, synthetic: np.ndarray, seed: int,
                        max_epochs: int = DISCRIMINATOR_MAX_EPOCHS) -> TrainedDiscriminator:  # fmt: skip
    """A small CNN trained to tell real (1) from synthetic (0) records.

    It trains on 60% of the records until its AUC on another 20% has not improved for
    ``DISCRIMINATOR_PATIENCE`` epochs (at most ``max_epochs``) and is kept at its best epoch, to be
    scored on the last 20%: a fixed few epochs stop it while it is still learning, and then the
    figure says as much about the training budget as about the generator."""
    import copy

    import torch

    from models import build_model

    rng = np.random.default_rng(seed)
    x = np.concatenate([real, synthetic])
    y = np.concatenate([np.ones(len(real)), np.zeros(len(synthetic))]).astype(np.float32)
    order = rng.permutation(len(x))
    cuts = [int(share * len(x)) for share in DISCRIMINATOR_SPLIT]
    train, chooser, held = order[: cuts[0]], order[cuts[0] : cuts[1]], order[cuts[1] :]
    mean, std = x[train].mean(axis=(0, 2), keepdims=True), x[train].std(axis=(0, 2), keepdims=True) + 1e-6
    x = ((x - mean) / std).astype(np.float32)
    torch.manual_seed(seed)
    net = build_model("sepresnet", width=0.25, in_channels=x.shape[1], num_classes=1, samples=x.shape[2])
    optimizer = torch.optim.AdamW(net.parameters(), lr=2e-3)
    trained = TrainedDiscriminator(net, mean, std, x, y, held, -np.inf, float("nan"))
    best_state, waited = copy.deepcopy(net.state_dict()), 0
    for epoch in range(max_epochs):
        net.train()
        shuffled = rng.permutation(train)
        for start in range(0, len(train), 64):
            rows = shuffled[start : start + 64]
            loss = torch.nn.functional.binary_cross_entropy_with_logits(
                net(torch.from_numpy(x[rows]))[:, 0], torch.from_numpy(y[rows])
            )
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        chosen = roc_auc(y[chooser], trained.scores(x[chooser]))
        log(f"discriminator epoch {epoch + 1}/{max_epochs} validation AUC {chosen:.4f}")
        if chosen > trained.validation_auc:
            trained.validation_auc, trained.held_auc = chosen, roc_auc(y[held], trained.scores(x[held]))
            best_state, waited = copy.deepcopy(net.state_dict()), 0
        else:
            waited += 1
            if waited >= DISCRIMINATOR_PATIENCE:
                break
    net.load_state_dict(best_state)
    return trained


def discriminator_auc(real: np.ndarray, synthetic: np.ndarray, seed: int,
                      max_epochs: int = DISCRIMINATOR_MAX_EPOCHS) -> tuple[float, float]:  # fmt: skip
    """(validation, held-out) ROC AUC of ``train_discriminator``'s network at its best epoch."""
    trained = train_discriminator(real, synthetic, seed, max_epochs)
    return float(trained.validation_auc), trained.held_auc


def discriminator_runs(real: np.ndarray, synthetic: np.ndarray, seed: int, runs: int = DISCRIMINATOR_RUNS,
                       max_epochs: int = DISCRIMINATOR_MAX_EPOCHS) -> tuple[float, list[float]]:  # fmt: skip
    """The held-out AUC of the best-validating of ``runs`` discriminators (seeds ``seed``, ``seed + 1``,
    ...) and every run's held-out AUC, rounded."""
    results = [discriminator_auc(real, synthetic, seed + k, max_epochs) for k in range(runs)]
    chosen = max(range(runs), key=lambda k: results[k][0])
    return round(results[chosen][1], 4), [round(held, 4) for _, held in results]


def _plots(real: dict[str, Any], synthetic: dict[str, Any], leads: list[str], fs: float, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    frequencies, real_psd, real_rate, real_rr = real["_psd"]
    _, synth_psd, synth_rate, synth_rr = synthetic["_psd"]
    fig, axes = plt.subplots(3, 4, figsize=(14, 8), sharex=True)
    for i, ax in enumerate(axes.flat):
        ax.semilogy(frequencies, real_psd[i], label="real")
        ax.semilogy(frequencies, synth_psd[i], label="synthetic")
        ax.set_title(leads[i], fontsize=9)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle("Power spectral density per lead (training folds), mV^2/Hz vs Hz")
    written.append(atomic_write_figure(folder / "spectra.png", fig))
    fig, (rate_ax, rr_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for values, name in ((real_rate, "real"), (synth_rate, "synthetic")):
        rate_ax.hist(values[np.isfinite(values)], bins=40, range=(30, 160), alpha=0.5, density=True, label=name)
    for values, name in ((real_rr, "real"), (synth_rr, "synthetic")):
        rr_ax.hist(values[np.isfinite(values)], bins=40, range=(0, 300), alpha=0.5, density=True, label=name)
    rate_ax.set(xlabel="heart rate (bpm, lead II R peaks)", ylabel="density")
    rr_ax.set(xlabel="RR standard deviation (ms)")
    rate_ax.legend()
    written.append(atomic_write_figure(folder / "rhythm.png", fig))
    for name, real_beat in real["_beats"].items():
        synth_beat = synthetic["_beats"].get(name)
        if synth_beat is None:
            continue
        time_ms = (np.arange(real_beat.shape[1]) / fs + BEAT_WINDOW_S[0]) * 1000
        fig, axes = plt.subplots(3, 4, figsize=(14, 8), sharex=True)
        for i, ax in enumerate(axes.flat):
            ax.plot(time_ms, real_beat[i], color="black", label="real")
            ax.plot(time_ms, synth_beat[i], color="tab:red", label="synthetic")
            ax.set_title(leads[i], fontsize=9)
            ax.grid(alpha=0.3)
        axes.flat[0].legend(fontsize=8)
        fig.suptitle(f"Median beat of {name}-only records (training folds), mV vs ms from the lead-II R peak")
        written.append(atomic_write_figure(folder / f"beat-{name}.png", fig))
    for name, real_table in ((n, c["record_wave_peaks_mv"]) for n, c in real["per_class"].items()):
        synth_table = synthetic["per_class"].get(name, {}).get("record_wave_peaks_mv")
        if real_table and synth_table:
            written.append(_spread_plot(name, real_table, synth_table, leads, folder))
    return written


def _spread_plot(name: str, real: dict[str, Any], synthetic: dict[str, Any], leads: list[str], folder: Path) -> Path:
    """Per wave and lead, how record-level peaks spread: p5-p95 whiskers, p25-p75 bars, median ticks."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(WAVE_WINDOWS_S), 1, figsize=(12, 9), sharex=True)
    positions = np.arange(len(leads))
    for ax, wave in zip(axes, WAVE_WINDOWS_S, strict=True):
        for offset, table, color, label in ((-0.18, real, "black", "real"), (0.18, synthetic, "tab:red", "synthetic")):
            stats = [table[lead][wave] or {f"p{q}": np.nan for q in PERCENTILES} for lead in leads]
            x = positions + offset
            ax.vlines(x, [q["p5"] for q in stats], [q["p95"] for q in stats], color=color, linewidth=1)
            ax.vlines(x, [q["p25"] for q in stats], [q["p75"] for q in stats], color=color, linewidth=6, label=label)
            ax.plot(x, [q["p50"] for q in stats], "_", color="white", markersize=8)
        ax.axhline(0.0, color="grey", linewidth=0.5)
        ax.set_ylabel(f"{wave} peak, mV")
    axes[0].legend(fontsize=8)
    axes[-1].set_xticks(positions, leads)
    fig.suptitle(f"Record-level median-beat peaks of {name}-only records (training folds): p5-p95, p25-p75, median")
    return atomic_write_figure(folder / f"spread-{name}.png", fig)


def beat_distance(real: dict[str, np.ndarray], synthetic: dict[str, np.ndarray]) -> dict[str, float]:
    """Per class, the RMS difference (mV) between the real and synthetic median beats over all leads."""
    return {name: round(float(np.sqrt(np.mean((beat - synthetic[name]) ** 2))), 4)
            for name, beat in real.items() if name in synthetic}  # fmt: skip


def fidelity_report(real: PreparedDataset, synthetic: PreparedDataset, out: Path, records: int = 2000,
                    seed: int = 0, discriminator_epochs: int = DISCRIMINATOR_MAX_EPOCHS,
                    discriminator_seeds: int = DISCRIMINATOR_RUNS) -> dict[str, Any]:  # fmt: skip
    """Compare the training splits of ``real`` and ``synthetic``; write ``out/fidelity.json`` and plots."""
    import json

    log(f"sampling {records} training records of each dataset")
    real_x, real_y = training_records(real, records, seed)
    synth_x, synth_y = training_records(synthetic, records, seed)
    if real_x.shape[1:] != synth_x.shape[1:]:
        raise ValueError(f"record shapes differ: real {real_x.shape[1:]}, synthetic {synth_x.shape[1:]}")
    real_stats = describe(real_x, real_y, real)
    synth_stats = describe(synth_x, synth_y, synthetic)
    log("training the real-vs-synthetic discriminator")
    chosen, runs = {}, {}
    chosen["whole record"], runs["whole record"] = discriminator_runs(real_x, synth_x, seed, discriminator_seeds,
                                                                      discriminator_epochs)  # fmt: skip
    fs = float(real.fs)
    for name, low, high in DISCRIMINATOR_BANDS:
        log(f"discriminator on the {name} band")
        chosen[name], runs[name] = discriminator_runs(band_limited(real_x, fs, low, high),
                                                      band_limited(synth_x, fs, low, high), seed, discriminator_seeds,
                                                      discriminator_epochs)  # fmt: skip
    plots = _plots(real_stats, synth_stats, list(real.leads), fs, out / "plots")
    result = {
        "real": {k: v for k, v in real_stats.items() if not k.startswith("_")} | {"dataset": real.manifest.get("name")},
        "synthetic": {k: v for k, v in synth_stats.items() if not k.startswith("_")}
        | {"dataset": synthetic.manifest.get("name")},
        "discriminator_auc": chosen.pop("whole record"),
        "discriminator_auc_by_band": chosen,
        "discriminator_runs": runs,
        "discriminator_runs_mean": {name: round(float(np.mean(values)), 4) for name, values in runs.items()},
        "median_beat_rms_difference_mv": beat_distance(real_stats["_beats"], synth_stats["_beats"]),
        "wave_peak_spread_ratio": spread_ratio(
            {name: stats["record_wave_peaks_mv"] for name, stats in real_stats["per_class"].items()},
            {name: stats["record_wave_peaks_mv"] for name, stats in synth_stats["per_class"].items()},
        ),
        "split": "train (PTB-XL folds 1-8)",
        "plots": [str(p.relative_to(out)) for p in plots],
    }
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "fidelity.json", json.dumps(result, indent=2) + "\n")
    return result
