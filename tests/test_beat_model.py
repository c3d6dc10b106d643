"""Generator version 3: the beat model fitted to median beats, and records rendered from it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from runtime.dataset.cache import PreparedDataset
from runtime.errors import DataError
from runtime.signal import spectral_filter
from train.synth.beat_model import (
    INDEPENDENT_LEADS,
    MIN_COMBINATION_RECORDS,
    BeatModel,
    fit_beat_model,
    independent_lead_indices,
    lay_beats,
    record_beats,
)
from train.synth.cardiac import RENDER_FS, leads_from_electrodes
from train.synth.fitted import electrodes_from_leads, packaged_model, packaged_noise, render_fitted_record
from train.synth.noise_model import NoiseModel, fit_noise_model, quality_flags, record_residuals


@pytest.fixture(scope="module")
def fitted(synth_cache: PreparedDataset) -> BeatModel:
    indices = synth_cache.indices("train")
    found = record_beats(synth_cache.millivolts(indices), synth_cache.leads, synth_cache.fs)
    return fit_beat_model(found.flat(), found.log_rr, found.deviations, np.asarray(synth_cache.labels[indices]), synth_cache.classes,
                          synth_cache.fs, {"dataset": "test"}, components=6, min_records=10)  # fmt: skip


def test_fit_keeps_frequent_combinations_and_an_orthonormal_basis(fitted: BeatModel, synth_cache) -> None:
    assert fitted.counts.min() >= 10 and list(fitted.counts) == sorted(fitted.counts, reverse=True)
    assert np.allclose(fitted.basis @ fitted.basis.T, np.eye(6), atol=1e-8)
    assert fitted.basis.shape[1] == len(INDEPENDENT_LEADS) * fitted.window
    assert np.isclose(fitted.weights.sum(), 1.0)
    # zero coordinates give the chosen mixture component's mean beat and its mean RR
    component = fitted.component(0, 0.0)
    assert fitted.component_of[component] == 0
    beat, rr = fitted.sample(0, np.zeros(fitted.dims), 0.0)
    assert np.allclose(beat.ravel(), fitted.means[component, :-1]) and np.isclose(
        rr, np.exp(fitted.means[component, -1])
    )
    # every component holds at least min_records records, and components add up to their combination
    assert fitted.component_counts.min() >= 10
    assert np.array_equal(np.bincount(fitted.component_of, weights=fitted.component_counts), fitted.counts)
    # a normal mean beat has its largest deflection at the R peak of lead II (window centre at 0 s)
    r_index = int(round(-fitted.window_s[0] * fitted.fs))
    assert abs(int(np.argmax(np.abs(beat[1]))) - r_index) <= 1


def test_detail_and_qrs_components(fitted: BeatModel) -> None:
    """Detail components continue the basis (orthonormal to it, decreasing spread); the single-beat
    directions of their own live inside the QRS window and nowhere else."""
    from train.synth.beat_model import qrs_taper

    assert len(fitted.detail_spread) > 0 and fitted.dims == 7 + len(fitted.detail_spread) + 1
    assert np.allclose(fitted.detail_basis @ fitted.basis.T, 0.0, atol=1e-8)
    assert np.all(np.diff(fitted.detail_spread) <= 1e-12)
    outside = qrs_taper(fitted.window, fitted.fs) == 0.0
    assert outside.any() and not outside.all()
    qrs = fitted.qrs_basis.reshape(len(fitted.qrs_basis), len(fitted.leads), fitted.window)
    assert len(qrs) > 0 and np.abs(qrs[:, :, outside]).max() < 1e-12 and fitted.qrs_spread.min() >= 0.0
    # a detail coordinate moves the beat along its component, by its spread times the record's
    # detail scale: at a zero scale coordinate the median scale, at the last coordinate's extremes
    # the smallest and largest (the scales are the quantiles of the records' own, mean square ~1)
    # (per mixture component: the quantiles of its own records' scales, whose mean square over all records is 1)
    assert fitted.detail_scales.shape == (len(fitted.component_counts), 101)
    pooled = np.repeat(fitted.detail_scales**2, fitted.component_counts, axis=0)
    assert np.all(np.diff(fitted.detail_scales, axis=1) >= 0.0) and fitted.detail_scales.min() >= 0.0
    assert 0.7 < float(pooled.mean()) < 1.3
    scales = fitted.detail_scales[fitted.component(0, 0.0)]
    coordinates = np.zeros(fitted.dims)
    coordinates[7] = 1.0
    still, _ = fitted.sample(0, np.zeros(fitted.dims), 0.0)
    for scale_coordinate, scale in ((0.0, scales[len(scales) // 2]), (9.0, scales[-1]), (-9.0, scales[0])):
        coordinates[-1] = scale_coordinate
        moved, _ = fitted.sample(0, coordinates, 0.0)
        assert np.allclose((moved - still).ravel(), scale * fitted.detail_spread[0] * fitted.detail_basis[0])


def test_kmeans_finds_separate_groups_and_respects_the_minimum_size() -> None:
    from train.synth.beat_model import _kmeans

    rng = np.random.default_rng(0)
    points = np.concatenate([rng.normal(0, 1, size=(100, 3)), rng.normal(8, 1, size=(80, 3)),
                             rng.normal(-8, 1, size=(5, 3))])  # fmt: skip
    labels = _kmeans(points, 3, min_size=20)
    assert len(set(labels)) == 2 and np.bincount(labels).min() >= 20
    assert len(set(labels[:100])) == 1 and len(set(labels[100:180])) == 1 and labels[0] != labels[100]


def test_combination_lookup_falls_back_to_the_nearest_frequent_one(fitted: BeatModel) -> None:
    index = fitted.combination_index({"NORM"})
    assert fitted.combination_classes(index) == ["NORM"]
    everything = fitted.combination_index(set(fitted.classes))
    assert 0 <= everything < len(fitted.counts)


def test_save_load_round_trip_and_bad_file(fitted: BeatModel, tmp_path: Path) -> None:
    (tmp_path / "m.npz").write_bytes(fitted.to_bytes())
    again = BeatModel.load(tmp_path / "m.npz")
    assert again.classes == fitted.classes and again.leads == fitted.leads and again.window_s == fitted.window_s
    assert np.allclose(again.means, fitted.means, atol=1e-5) and np.array_equal(again.counts, fitted.counts)
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    with pytest.raises(DataError, match="not a fitted generator model"):
        BeatModel.load(tmp_path / "bad.npz")


def test_packaged_model_holds_statistics_of_many_records() -> None:
    model = packaged_model()
    assert model.classes == ("NORM", "MI", "STTC", "CD", "HYP") and model.leads == INDEPENDENT_LEADS
    assert model.counts.min() >= MIN_COMBINATION_RECORDS  # a mean over many records, never one record
    assert model.component_counts.min() >= MIN_COMBINATION_RECORDS
    assert model.source["folds"] == "1-8" and model.source["dataset"] == "ptb-xl"
    assert model.combination_classes(0) == ["NORM"]
    rr = np.exp(model.means[:, -1])
    assert ((rr > 0.6) & (rr < 1.1)).all()  # 55-100 bpm on average in every combination


def test_electrodes_give_the_leads_back() -> None:
    leads = np.random.default_rng(0).normal(size=(8, 50))
    twelve = leads_from_electrodes(electrodes_from_leads(leads))
    assert np.allclose(twelve[[0, 1, 6, 7, 8, 9, 10, 11]], leads)
    assert np.allclose(twelve[2], leads[1] - leads[0])  # III = II - I


def test_lay_beats_reproduces_the_beat_at_each_r_peak() -> None:
    fs, window_s = 100, (-0.3, 0.6)
    grid = window_s[0] + np.arange(90) / fs
    beat = np.stack([np.exp(-0.5 * (grid / 0.012) ** 2), 0.3 * np.exp(-0.5 * ((grid - 0.25) / 0.05) ** 2)])
    times, rrs = np.array([1.0, 2.0, 3.0]), np.ones(3)
    signal = lay_beats(beat, window_s, fs, times, rrs, np.ones((3, 2)), 4 * RENDER_FS, RENDER_FS)
    for t in times:
        r = int(t * RENDER_FS)
        assert np.isclose(signal[0, r], 1.0, atol=1e-3) and np.isclose(
            signal[1, r + int(0.25 * RENDER_FS)], 0.3, atol=1e-3
        )
    assert np.abs(signal[:, : int(0.6 * RENDER_FS)]).max() < 1e-6  # nothing before the first beat's window
    # a shorter RR leaves the T wave where it is; a stretch above 1 brings it earlier, the QRS stays put
    t_peak = lambda s: int(np.argmax(s[1, 2 * RENDER_FS : int(2.5 * RENDER_FS)]))
    short = lay_beats(beat, window_s, fs, times, np.full(3, 0.64), np.ones((3, 2)), 4 * RENDER_FS, RENDER_FS)
    assert t_peak(short) == t_peak(signal)
    stretched = lay_beats(beat, window_s, fs, times, rrs, np.ones((3, 2)), 4 * RENDER_FS, RENDER_FS,
                          stretches=np.full(3, 1.25))  # fmt: skip
    assert t_peak(stretched) < t_peak(signal) and np.isclose(stretched[0, 2 * RENDER_FS], 1.0, atol=1e-3)


def test_laid_beats_join_without_steps() -> None:
    """Beats join seamlessly: a beat that is one level throughout gives that level everywhere,
    whether successive beats overlap (short RR) or leave a gap (long RR), before the first beat
    and after the last; and where a beat's window ends at another level than the next one's
    begins, the record moves between them in small steps, not back to zero."""
    fs, window_s = 100, (-0.3, 0.6)
    grid = window_s[0] + np.arange(90) / fs
    times = np.array([0.5, 1.05, 1.65, 2.95, 4.45, 5.2])
    rrs = np.diff(times, append=times[-1] + 0.75)  # 0.55 s (overlapping) to 1.5 s (a gap)
    level = lay_beats(np.full((1, 90), 0.02), window_s, fs, times, rrs, np.ones((6, 1)), 700, fs)
    assert np.allclose(level, 0.02, atol=1e-9)
    ramp = 0.02 * (grid - window_s[0]) / (window_s[1] - window_s[0])  # 0 at the window's start, 0.02 at its end
    laid = lay_beats(ramp[None], window_s, fs, times, rrs, np.ones((6, 1)), 700, fs)[0]
    assert np.abs(np.diff(laid)).max() < 0.006 and laid.min() > -1e-9  # the old fade to zero stepped 0.02 in 40 ms


def test_laid_beats_keep_their_high_frequencies_between_samples() -> None:
    """A sharp QRS laid at R peaks that fall anywhere between samples of its own rate keeps its
    30-50 Hz power (linear steps between the output's samples keep about half of it)."""
    fs, window_s = 100, (-0.3, 0.6)
    grid = window_s[0] + np.arange(90) / fs
    wavelet = lambda t: np.exp(-0.5 * (t / 0.015) ** 2) * np.cos(2 * np.pi * 35 * t)
    times = 0.5 + np.arange(9) * 1.0 + np.linspace(0.0, 0.009, 9)  # every phase of a 10 ms sample
    laid = lay_beats(wavelet(grid)[None], window_s, fs, times, np.ones(9), np.ones((9, 1)), 1000, fs)
    t = np.arange(1000) / fs
    exact = sum(wavelet(t - r) * (np.abs(t - r) < 0.2) for r in times)
    high = lambda x: spectral_filter(x[None], fs, lambda f: ((f >= 30) & (f <= 50)).astype(float))[0]
    ratio = float((high(laid) ** 2).sum() / (high(exact) ** 2).sum())
    assert 0.8 < ratio < 1.1, ratio  # 0.5 with linear steps at the output rate


def test_fitted_record_is_seeded_and_physiological() -> None:
    first = render_fitted_record({"NORM"}, 3, 7, seed=0, fibrillation_rate=0.0, premature_rate=0.0)
    again = render_fitted_record({"NORM"}, 3, 7, seed=0, fibrillation_rate=0.0, premature_rate=0.0)
    other = render_fitted_record({"NORM"}, 3, 8, seed=0, fibrillation_rate=0.0, premature_rate=0.0)
    leads, _, heart_rate, axis = first
    assert np.array_equal(leads, again[0]) and not np.array_equal(leads, other[0])
    assert leads.shape == (12, 10 * packaged_model().fs) and np.isfinite(leads).all()
    assert 40 <= heart_rate <= 125 and -180 <= axis <= 180
    assert 0.3 < np.ptp(leads[1]) < 6.0  # lead II peak-to-peak, mV
    assert np.allclose(leads[2], leads[1] - leads[0])  # Einthoven, noise included
    assert np.abs(leads.mean(axis=1)).max() < 0.03  # near-zero record means, as PTB-XL stores them
    # atrial fibrillation removes P waves and makes the rhythm irregular
    af = render_fitted_record({"NORM"}, 3, 7, seed=0, fibrillation_rate=1.0, premature_rate=0.0)[0]
    assert not np.array_equal(af, leads)


def test_noise_model_gives_back_level_and_lead_correlation(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    white = rng.normal(0.0, 0.05, size=(200, 8, 1000))
    white[:, 1] = white[:, 0] + rng.normal(0.0, 0.01, size=(200, 1000))  # lead 2 follows lead 1
    means = rng.normal(0.0, 0.004, size=(200, 8))
    means[:10] = 0.5  # a few records far off zero do not set the spread
    model = fit_noise_model(white, np.ones((200, 1000)), means, fs=100, components=3)
    (tmp_path / "n.npz").write_bytes(model.to_bytes())
    loaded = NoiseModel.load(tmp_path / "n.npz")
    assert np.allclose(loaded.offset_sd, 0.004, rtol=0.3), loaded.offset_sd  # the spread of record means
    drawn = np.stack([loaded.sample(rng) for _ in range(50)])
    rms = np.sqrt((drawn**2).mean(axis=(0, 2)))
    assert np.allclose(rms[2:], 0.05, rtol=0.2), rms  # level (the log-spectrum bias is a few percent)
    correlation = np.corrcoef(drawn.transpose(1, 0, 2).reshape(8, -1))
    assert correlation[0, 1] > 0.95 and abs(correlation[0, 2]) < 0.1
    assert loaded.burst_sd[0] < 0.15  # Gaussian residuals: no bursts


def test_median_beats_are_held_where_the_next_beat_begins_and_smooth_outside_the_qrs() -> None:
    """At a fast rate a beat window reaches into the next beat: from its P wave on the beat holds
    its value.  Outside the QRS a beat is smoothed (sample-to-sample noise gone), inside it is kept."""
    from train.synth.beat_model import P_WAVE_S, held_before_next_beat, qrs_taper, smooth_outside_qrs

    fs, window = 100, 90
    t = -0.3 + np.arange(window) / fs
    beat = np.exp(-0.5 * (t / 0.012) ** 2) + np.exp(-0.5 * ((t - 0.5) / 0.012) ** 2)  # the next R at 0.5 s
    held = held_before_next_beat(np.stack([beat, beat])[:, None, :], np.log([0.5, 1.2]), fs)
    stop = int(np.floor((0.5 + P_WAVE_S[0] + 0.3) * fs))
    assert np.all(held[0, 0, stop:] == held[0, 0, stop - 1]) and np.array_equal(held[0, 0, :stop], beat[:stop])
    assert np.array_equal(held[1, 0], beat)  # a slow rate: the window ends before the next beat
    noisy = beat + np.random.default_rng(0).normal(0.0, 0.01, window)
    smoothed = smooth_outside_qrs(noisy[None, :], fs)[0]
    inside, outside = qrs_taper(window, fs) == 1.0, qrs_taper(window, fs) == 0.0
    assert np.array_equal(smoothed[inside], noisy[inside])
    assert np.abs(np.diff(smoothed[outside][:20])).mean() < 0.5 * np.abs(np.diff(noisy[outside][:20])).mean()


def test_noise_model_follows_the_cardiac_cycle() -> None:
    """Residuals quiet in the second half of every RR interval and loud in the first give a gain that
    says so, and noise as busy as theirs at every phase."""
    from train.synth.noise_model import CYCLE_BINS, phase_bins, phase_levels

    rng = np.random.default_rng(2)
    r_times = [np.arange(0.3, 10.0, 0.8) + rng.uniform(0, 0.1) for _ in range(200)]
    residuals = rng.normal(0.0, 0.01, size=(200, 8, 1000))
    for residual, times in zip(residuals, r_times, strict=True):
        residual *= np.where(phase_bins(1000, 100, times) < CYCLE_BINS // 2, 1.5, 0.5)
    model = fit_noise_model(residuals, np.ones((200, 1000)), np.zeros((200, 8)), fs=100, components=3, r_times=r_times)
    gain = model.cycle_gain
    assert gain.shape == (8, CYCLE_BINS) and np.all(gain[:, CYCLE_BINS // 4] > 2.0 * gain[:, 3 * CYCLE_BINS // 4]), gain
    # calibrated: the drawn noise changes from sample to sample as much as the residuals, phase by phase
    # (before the high band's own gain, calibrated after it, quiets what lies above HIGH_CYCLE_HZ)
    cycled = replace(model, high_cycle_gain=np.ones_like(model.high_cycle_gain))
    drawn = np.stack([cycled.sample(rng, times) for times in r_times[:100]])
    ratio = phase_levels(drawn, r_times[:100], 100) / phase_levels(residuals, r_times, 100)
    assert np.all(np.abs(ratio[:, 3:17] - 1.0) < 0.2), ratio


def test_noise_model_quiets_its_high_band_where_the_residuals_do() -> None:
    """Residuals whose part above HIGH_CYCLE_HZ is loud in the first half of every RR interval and
    quiet in the second, while their slower part is as busy throughout, give a high band gain that
    says so, and noise whose high band is as loud as theirs at every phase."""
    from train.synth.noise_model import CYCLE_BINS, HIGH_CYCLE_HZ, high_band_levels, phase_bins, phase_levels

    rng = np.random.default_rng(3)
    r_times = [np.arange(0.3, 10.0, 0.8) + rng.uniform(0, 0.1) for _ in range(200)]
    white = rng.normal(0.0, 0.01, size=(200, 8, 1000))
    frequencies = np.fft.rfftfreq(1000, 0.01)
    spectrum = np.fft.rfft(white, axis=-1)
    slow = np.fft.irfft(np.where(frequencies < HIGH_CYCLE_HZ, spectrum, 0.0), n=1000, axis=-1)
    fast = np.fft.irfft(np.where(frequencies >= HIGH_CYCLE_HZ, spectrum, 0.0), n=1000, axis=-1)
    for part, times in zip(fast, r_times, strict=True):
        part *= np.where(phase_bins(1000, 100, times) < CYCLE_BINS // 2, 1.5, 0.3)
    residuals = 8.0 * slow + fast  # the slow part sets the sample-to-sample change, the fast one the second difference
    model = fit_noise_model(residuals, np.ones((200, 1000)), np.zeros((200, 8)), fs=100, components=3, r_times=r_times)
    gain = model.high_cycle_gain  # about 2.2x louder in the first half (the cycle's own gain takes some of the 5x)
    assert gain.shape == (8, CYCLE_BINS) and np.all(gain[:, CYCLE_BINS // 4] > 1.8 * gain[:, 3 * CYCLE_BINS // 4]), gain
    drawn = np.stack([model.sample(rng, times) for times in r_times[:100]])
    for levels in (high_band_levels, phase_levels):  # the high band as loud as theirs, and the change as busy
        ratio = levels(drawn, r_times[:100], 100) / levels(residuals, r_times, 100)
        assert np.all(np.abs(ratio[:, 3:17] - 1.0) < 0.2), (levels.__name__, ratio)


def _slow_modulation(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """A slow wave ``[*shape, 1000]`` at 100 Hz with unit mean square: three sinusoids below the bursts'
    bandwidth, of random frequency and phase, the burst-like loudness the noise-model tests give their
    residuals."""
    from train.synth.noise_model import BURST_BANDWIDTH_HZ

    t = np.arange(1000) / 100
    waves = [np.sin(2 * np.pi * rng.uniform(0.1, BURST_BANDWIDTH_HZ, (*shape, 1)) * t + rng.uniform(0, 6.3, (*shape, 1)))
             for _ in range(3)]  # fmt: skip
    return np.asarray(sum(waves)) / np.sqrt(1.5)


def test_noise_model_gives_back_bursts() -> None:
    """Residuals whose loudness wanders slowly (quiet and loud stretches) give a burst spread that
    draws noise as bursty as they are, at their level."""
    from train.synth.noise_model import burstiness

    rng = np.random.default_rng(1)
    slow = _slow_modulation(rng, (300, 1))
    residuals = rng.normal(0.0, 0.02, size=(300, 8, 1000)) * np.exp(0.8 * slow - 0.8**2)
    model = fit_noise_model(residuals, np.ones((300, 1000)), np.zeros((300, 8)), fs=100, components=3)
    assert 0.5 < model.burst_sd[0] < 1.1, model.burst_sd
    drawn = np.stack([model.sample(rng) for _ in range(100)])
    assert abs(burstiness(drawn) - burstiness(residuals)) < 0.15  # 1.48 without bursts
    level = lambda x: float(np.sqrt(np.mean(x**2)))
    assert 0.7 < level(drawn) / level(residuals) < 1.3  # the bursts keep the fitted power


def test_noise_model_bursts_go_together_where_the_residuals_do() -> None:
    """Residuals whose first four leads burst together and whose last four burst on their own give
    noise whose high-band envelopes correlate as theirs do: strongly in the first group, weakly in the
    second (one modulation for all leads would make every pair alike)."""
    from train.synth.noise_model import between_qrs, envelope_correlation

    rng = np.random.default_rng(4)
    n = 300
    r_times = [np.arange(0.3, 10.0, 0.8) + rng.uniform(0, 0.1) for _ in range(n)]
    modulation = np.concatenate([np.repeat(_slow_modulation(rng, (n, 1)), 4, axis=1), _slow_modulation(rng, (n, 4))],
                                axis=1)  # fmt: skip
    residuals = rng.normal(0.0, 0.02, size=(n, 8, 1000)) * np.exp(0.9 * modulation - 0.9**2)
    weights = np.stack([between_qrs(times, 1000, 100) for times in r_times])
    model = fit_noise_model(residuals, weights, np.zeros((n, 8)), fs=100, components=3, r_times=r_times)
    drawn = np.stack([model.sample(rng, times) for times in r_times[:200]])
    target, got = envelope_correlation(residuals, weights), envelope_correlation(drawn, weights[:200])
    assert target[0, 1] > target[4, 5] + 0.3, target
    assert abs(got[0, 1] - target[0, 1]) < 0.1 and abs(got[4, 5] - target[4, 5]) < 0.1, (got, target)
    assert np.allclose(np.diag(model.burst_mixing @ model.burst_mixing.T), 1.0)  # a correlation's factor


def test_residuals_leave_out_the_qrs(synth_cache: PreparedDataset) -> None:
    signals = synth_cache.millivolts(np.arange(10))
    chosen = independent_lead_indices(synth_cache.leads)
    residuals, weights = record_residuals(signals[:, chosen], record_beats(signals, synth_cache.leads, 100), 100)
    found = np.isfinite(residuals).all(axis=(1, 2))
    assert found.sum() >= 8 and weights.min() == 0.0 and weights.max() == 1.0
    # what is left between QRS complexes is much smaller than the record (median over records: a
    # record whose premature beats the detector misses keeps them in its residual)
    left = np.std(residuals[found] * weights[found, None], axis=(1, 2)) / np.std(signals[found][:, chosen], axis=(1, 2))
    assert np.median(left) < 0.6, left


def test_quality_flags_follow_the_noise() -> None:
    t = np.arange(1000) / 100
    assert quality_flags(np.zeros((8, 1000)), 100) == {}
    assert "baseline_drift" in quality_flags(np.tile(0.5 * np.sin(2 * np.pi * 0.2 * t), (8, 1)), 100)
    assert "static_noise" in quality_flags(np.tile(0.1 * np.sin(2 * np.pi * 30 * t), (8, 1)), 100)


def test_packaged_noise_model_is_finite_and_ecg_sized() -> None:
    noise = packaged_noise().sample(np.random.default_rng(1))
    assert noise.shape == (8, 1000) and np.isfinite(noise).all()
    assert 0.005 < float(np.sqrt((noise**2).mean())) < 0.5


def test_median_beats_are_aligned_within_a_sample() -> None:
    """Beats at times off the 100 Hz grid: the aligned median keeps a sharp QRS's height, the
    median on whole-sample R peaks loses part of it."""
    from train.synth.fidelity import lead_ii_peaks, median_beats

    fs, rng = 100, np.random.default_rng(4)
    t = np.arange(1000) / fs
    r_times = 0.5 + np.arange(11) * 0.83 + rng.uniform(-0.004, 0.004, size=11)
    lead = sum(np.exp(-0.5 * ((t - r) / 0.008) ** 2) for r in r_times)
    signals = np.tile(lead, (1, 12, 1))
    found = record_beats(signals, _LEADS, fs)
    sharp = float(np.nanmax(found.beats[0, 1]))
    blunt = float(np.nanmax(median_beats(signals[:, :2], lead_ii_peaks(signals, list(_LEADS), fs), fs)[0, 1]))
    assert sharp > 0.97 and sharp > blunt + 0.02, (sharp, blunt)
    assert np.allclose(found.r_times[0], r_times[(r_times > 0.05) & (r_times < 9.95)], atol=0.0025)


_LEADS = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")


def test_write_dataset_versions_and_refusals(tmp_path: Path) -> None:
    import json

    from runtime.errors import UsageError
    from train.synth.generate import write_dataset

    fitted_info = write_dataset(tmp_path / "v3", records=12, seed=1, workers=1, progress=False)
    dipole_info = write_dataset(tmp_path / "v2", records=12, seed=1, workers=1, progress=False, generator="dipole")
    assert fitted_info["version"] == "synthetic-ptbxl-3" and dipole_info["version"] == "synthetic-ptbxl-2"
    assert "CC BY 4.0" in json.loads((tmp_path / "v3" / "SYNTHETIC.json").read_text())["note"]
    with pytest.raises(UsageError, match="--generator must be one of fitted, dipole"):
        write_dataset(tmp_path / "x", records=2, generator="gaussian", progress=False)
    with pytest.raises(UsageError, match="goes with --generator dipole only"):
        write_dataset(tmp_path / "y", records=2, acquisition="ptbxl-filter", progress=False)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_fitted_labels_follow_the_real_combinations() -> None:
    from train.synth.generate import plan_dataset
    from train.synth.pathology import superclass_of

    plans = plan_dataset(3000, seed=0)
    combos = [frozenset(superclass_of(code) for code, _ in plan.true_codes) for plan in plans]
    model = packaged_model()
    share_norm = sum(c == frozenset({"NORM"}) for c in combos) / len(combos)
    assert abs(share_norm - model.weights[model.combination_index({"NORM"})]) < 0.03
    assert all(model.combination_classes(model.combination_index(set(c))) == sorted(c, key=model.classes.index)
               for c in set(combos))  # fmt: skip


def test_gallery_of_version_3(tmp_path: Path) -> None:
    from train.synth.gallery import FITTED_EXAMPLES, render_gallery

    out = render_gallery(tmp_path / "g.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 50_000
    assert set(FITTED_EXAMPLES) >= {"NORM", "MI", "STTC", "CD", "HYP"}
