"""train fit --init: start from a model of the same architecture (synthetic pretraining)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx

from runtime.card import read_card
from tests.helpers import assert_one_line_error, run_cli
from train.export import module_from_onnx


def test_init_starts_from_the_given_weights(float_model: Path, synth_cache, tmp_path: Path) -> None:
    out = tmp_path / "tuned"
    result = run_cli("train", "fit", "--data", str(synth_cache.path), "--arch", "sepresnet", "--width", "0.5",
                     "--epochs", "1", "--lr", "1e-9", "--threads", "1", "--init", str(float_model.parent), "-o", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    card = read_card(onnx.load(out / "model.onnx"))
    assert card.lineage[-1]["step"] == "init" and card.lineage[-1]["parent"] == "model.onnx"
    # with a vanishing learning rate the convolution weights are the pretrained ones
    before, _ = module_from_onnx(float_model)
    after, _ = module_from_onnx(out / "model.onnx")
    first = next(name for name, _ in before.net.named_parameters() if name.endswith("weight"))
    np.testing.assert_allclose(dict(after.net.named_parameters())[first].detach().numpy(),
                               dict(before.net.named_parameters())[first].detach().numpy(), atol=1e-6)  # fmt: skip


def test_interpolate_exports_the_choice_that_validates_best(float_model: Path, synth_cache, tmp_path: Path) -> None:
    import json

    out = tmp_path / "interpolated"
    result = run_cli("train", "fit", "--data", str(synth_cache.path), "--arch", "sepresnet", "--width", "0.5",
                     "--epochs", "1", "--threads", "1", "--init", str(float_model), "--interpolate", "-o", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    chosen = json.loads((out / "run.json").read_text())["training"]["interpolation"]
    scores = chosen["val_macro_auc"]
    assert set(scores) == {"tuned", "0.5", "0.6", "0.7", "0.8", "0.9", "1"}
    best = "tuned" if chosen["alpha"] is None else f"{chosen['alpha']:g}"
    assert scores[best] == max(scores.values())
    card = read_card(onnx.load(out / "model.onnx"))  # the exported graph is the chosen one: same validation AUC
    assert abs(card.metrics["val"]["macro_auc"] - scores[best]) < 1e-3


def test_interpolate_without_init_is_refused(synth_cache, tmp_path: Path) -> None:
    result = run_cli("train", "fit", "--data", str(synth_cache.path), "--arch", "sepresnet", "--width", "0.5",
                     "--epochs", "1", "--interpolate", "-o", str(tmp_path / "x"))  # fmt: skip
    assert_one_line_error(result, "--interpolate", "--init MODEL", code=2)
    assert not (tmp_path / "x").exists()


def test_interpolated_state_keeps_the_new_normalization() -> None:
    import torch

    from train.interpolate import interpolated_state

    start = {"net.w": torch.zeros(3), "normalize_mean": torch.zeros(1), "net.n": torch.tensor(5)}
    tuned = {"net.w": torch.ones(3), "normalize_mean": torch.full((1,), 2.0), "net.n": torch.tensor(9)}
    mixed = interpolated_state(start, tuned, 0.7)
    np.testing.assert_allclose(mixed["net.w"].numpy(), 0.7)
    assert float(mixed["normalize_mean"]) == 2.0 and int(mixed["net.n"]) == 9


def test_init_refuses_another_architecture(float_model: Path, synth_cache, tmp_path: Path) -> None:
    result = run_cli("train", "fit", "--data", str(synth_cache.path), "--arch", "sepresnet", "--width", "0.25",
                     "--epochs", "1", "--init", str(float_model), "-o", str(tmp_path / "x"))  # fmt: skip
    assert_one_line_error(result, "width 0.5", "matching --arch/--width/--leads", code=2)


def test_synth_report_compares_two_datasets(synth_cache, tmp_path: Path) -> None:
    """Smoke: the fidelity report runs on two caches (here the same synthetic one) and writes its figures."""
    import json

    out = tmp_path / "fidelity"
    result = run_cli("train", "synth-report", "--real", str(synth_cache.path), "--synthetic", str(synth_cache.path),
                     "--records", "60", "--epochs", "1", "--runs", "1", "-o", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads((out / "fidelity.json").read_text())
    assert 0.0 <= report["discriminator_auc"] <= 1.0
    assert set(report["discriminator_auc_by_band"]) == {"0.5-15 Hz", "15-45 Hz"}
    assert set(report["discriminator_runs_mean"]) == {"whole record", "0.5-15 Hz", "15-45 Hz"}
    assert report["real"]["heart_rate_bpm"]["p50"] == report["synthetic"]["heart_rate_bpm"]["p50"]
    assert set(report["real"]["peak_to_peak_mv"]) == set(synth_cache.leads)
    assert all((out / plot).is_file() for plot in report["plots"])
    # the same records on both sides: identical median beats, so zero difference for every class found
    assert report["median_beat_rms_difference_mv"] and set(report["median_beat_rms_difference_mv"].values()) == {0.0}
    assert "plots/beat-NORM.png" in report["plots"] and "plots/spread-NORM.png" in report["plots"]
    # record-level peak distributions: percentiles per class, lead and wave; identical data, ratio 1
    norm_v2 = report["real"]["per_class"]["NORM"]["record_wave_peaks_mv"]["V2"]
    assert set(norm_v2) == {"P", "R", "S", "T"} and norm_v2["R"]["p5"] <= norm_v2["R"]["p50"] <= norm_v2["R"]["p95"]
    assert set(report["wave_peak_spread_ratio"]["NORM"].values()) == {1.0}
    # the default's records sit near zero mean, as PTB-XL's do; the report splits 30-50 Hz power
    assert all(abs(lead["p50"]) < 0.01 for lead in report["synthetic"]["record_mean_mv"].values())
    high = report["real"]["high_band_power"]
    assert high["band_hz"] == [30.0, 50.0] and high["between"]["II"]["p50"] > 0 and high["qrs"]["II"]["p50"] > 0


def test_median_beat_reads_known_wave_amplitudes() -> None:
    """A record built from one known beat repeated: the median beat gives back its P, R, S and T peaks."""
    from train.synth.fidelity import median_beats, r_peaks, wave_peaks

    fs = 100.0
    t = np.arange(1000) / fs
    beat_times = np.arange(0.5, 9.6, 0.9)
    shape = {"P": (-0.16, 0.02, 0.15), "R": (0.0, 0.012, 1.2), "S": (0.04, 0.012, -0.4), "T": (0.28, 0.04, 0.3)}
    lead = sum(amp * np.exp(-0.5 * ((t[:, None] - beat_times[None, :] - tau) / sigma) ** 2).sum(axis=1)
               for tau, sigma, amp in shape.values())  # fmt: skip
    signals = np.stack([lead, -lead])[None].astype(np.float32)  # two leads, the second inverted
    peaks = [r_peaks(signals[0, 0], fs)]
    beats = median_beats(signals, peaks, fs)
    found = wave_peaks(beats[0], fs)
    for wave in ("P", "T"):
        assert abs(found[wave][0] - shape[wave][2]) < 0.05 and abs(found[wave][1] + shape[wave][2]) < 0.05
    assert abs(found["R"][0] - 1.2) < 0.1 and found["R"][1] < 0.3  # inverted: only the inverted S rises
    assert found["S"][0] < -0.2 and found["S"][1] < -1.0
