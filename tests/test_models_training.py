"""Model registry, training loop, export contract and rebuild round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from models import available, build_model, count_parameters
from runtime.card import read_card
from runtime.session import make_session
from tests.helpers import assert_one_line_error, run_cli
from train.config import FitConfig, RunSpec
from train.export import module_from_onnx, to_onnx
from train.fit import run_fit
from train.loop import Normalized

SEED_COUNTS = {"seed-cnn": 429_505, "seed-inception": 4_266_277, "seed-teacher": 6_522_555, "seed-student": 534_005}


@pytest.mark.parametrize(("arch", "count"), sorted(SEED_COUNTS.items()))
def test_seed_parameter_counts_are_exact(arch: str, count: int) -> None:
    assert count_parameters(build_model(arch)) == count


def test_efficient_family_spans_10k_to_1m() -> None:
    small = count_parameters(build_model("sepresnet", width=0.15))
    large = count_parameters(build_model("sepresnet", width=2.0))
    assert small < 15_000 and large > 800_000


@pytest.mark.parametrize("arch", available())
def test_onnx_matches_torch_and_rebuilds(arch: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    width = 1.0 if arch.startswith("seed-") else 0.5
    net = build_model(arch, width=width).eval()
    rng = np.random.default_rng(0)
    model = Normalized(net, rng.normal(0, 0.1, 12), rng.uniform(0.5, 1.5, 12)).eval()
    for module in model.modules():  # non-trivial BatchNorm statistics
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    from models.registry import ARCHITECTURES
    from runtime.card import ModelCard, write_card
    from train.export import architecture_entry

    dynamic = not ARCHITECTURES[arch].fixed_length
    graph = to_onnx(model, 1000, dynamic_time=dynamic)
    card = ModelCard(classes=["NORM", "MI", "STTC", "CD", "HYP"], fs=100, leads=["I", "II", "III", "aVR", "aVL",
                     "aVF", "V1", "V2", "V3", "V4", "V5", "V6"], window=1000, thresholds=[0.5] * 5,
                     architecture=architecture_entry(model, arch, width, 1000))  # fmt: skip
    write_card(graph, card)
    path = tmp_path / "m.onnx"
    path.write_bytes(graph.SerializeToString())
    onnx.checker.check_model(str(path), full_check=True)
    assert [i.name for i in graph.graph.input] == ["ecg"]
    assert [o.name for o in graph.graph.output] == ["probabilities", "logits"]
    assert not graph.graph.value_info
    assert all((o.domain or "") == "" for o in graph.opset_import) and graph.opset_import[0].version >= 17
    x = rng.normal(0, 0.5, (3, 12, 1000)).astype(np.float32)
    probabilities = make_session(path).run(["probabilities"], {"ecg": x})[0]
    with torch.no_grad():
        expected = torch.sigmoid(model(torch.from_numpy(x))).numpy()
    assert np.abs(probabilities - expected).max() <= 1e-4
    if dynamic:  # global pooling: the same file takes other lengths too
        longer = rng.normal(0, 0.5, (1, 12, 1500)).astype(np.float32)
        assert make_session(path).run(["probabilities"], {"ecg": longer})[0].shape == (1, 5)
    rebuilt, _ = module_from_onnx(path)
    with torch.no_grad():
        again = torch.sigmoid(rebuilt(torch.from_numpy(x))).numpy()
    assert np.abs(again - expected).max() <= 1e-6


@pytest.fixture(scope="module")
def tiny_run(synth_cache, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("run") / "run"
    run_fit(synth_cache.path, RunSpec("sepresnet", 0.25), out, FitConfig(epochs=2, seed=1, threads=1))
    return out


def test_fit_writes_a_complete_run(tiny_run: Path) -> None:
    summary = json.loads((tiny_run / "run.json").read_text())
    card = read_card(onnx.load(tiny_run / "model.onnx"))
    assert card.classes == ["NORM", "MI", "STTC", "CD", "HYP"] and card.fs == 100 and card.window == 1000
    assert len(card.thresholds) == 5 and card.lineage == []
    assert card.dataset["name"] == "ptb-xl-synthetic" and card.dataset["content_hash"].startswith("sha256:")
    assert 0.0 < card.metrics["test"]["macro_auc"] <= 1.0
    assert card.environment["seed"] == 1 and card.environment["torch"]
    assert len((tiny_run / "metrics.jsonl").read_text().splitlines()) == 2
    assert summary["parameters"] == card.architecture["parameters"]


def test_same_seed_same_onnx_outputs(synth_cache, tiny_run: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    run_fit(synth_cache.path, RunSpec("sepresnet", 0.25), again, FitConfig(epochs=2, seed=1, threads=1))
    x = np.random.default_rng(0).normal(0, 0.5, (4, 12, 1000)).astype(np.float32)
    a = make_session(tiny_run / "model.onnx").run(None, {"ecg": x})[0]
    b = make_session(again / "model.onnx").run(None, {"ecg": x})[0]
    np.testing.assert_array_equal(a, b)


def test_finished_run_is_refused_without_force(tiny_run: Path, synth_cache) -> None:
    result = run_cli("train", "fit", "--data", str(synth_cache.path), "--arch", "sepresnet", "--out", str(tiny_run))
    assert_one_line_error(result, "already holds a finished run", code=2)


def test_unknown_architecture_lists_names(synth_cache, tmp_path: Path) -> None:
    result = run_cli("train", "fit", "--data", str(synth_cache.path), "--arch", "nope", "--out", str(tmp_path / "r"))
    assert_one_line_error(result, "unknown architecture", "sepresnet", code=2)
    assert not (tmp_path / "r").exists()


def test_resume_from_another_architecture_is_refused(tiny_run: Path, synth_cache, tmp_path: Path) -> None:
    import shutil

    target = tmp_path / "r"
    target.mkdir()
    shutil.copy(tiny_run / "checkpoint.pt", target / "checkpoint.pt")
    result = run_cli("train", "fit", "--data", str(synth_cache.path), "--arch", "fcn-wang", "--width", "0.25",
                     "--epochs", "2", "--out", str(target), "--resume")  # fmt: skip
    assert_one_line_error(result, "belongs to another run", "arch", code=2)


def test_nan_loss_stops_with_a_clear_message(synth_cache, tmp_path: Path) -> None:
    result = run_cli("train", "fit", "--data", str(synth_cache.path), "--arch", "sepresnet", "--width", "0.25",
                     "--epochs", "1", "--lr", "1e30", "--out", str(tmp_path / "r"))  # fmt: skip
    assert_one_line_error(result, "loss became", "lower --lr")
    assert not (tmp_path / "r" / "model.onnx").exists()


def test_export_from_checkpoint(tiny_run: Path, tmp_path: Path) -> None:
    result = run_cli("train", "export", str(tiny_run), "-o", str(tmp_path / "x.onnx"))
    assert result.returncode == 0, result.stderr
    assert read_card(onnx.load(tmp_path / "x.onnx")).metrics["test"]["macro_auc"] > 0


def test_throughput_probe_reports_sane_figures() -> None:
    from train.throughput import measure

    row = measure("sepresnet", width=0.25, seconds=0.2, threads=1)
    assert row["train_records_per_s"] > 0 and row["epoch_seconds_default"] > 0
    assert row["torch_eager_ms"] > 0 and row["onnxruntime_ms"] > 0 and row["onnxruntime_vs_eager"] > 0


def test_random_crop_takes_seeded_contiguous_windows() -> None:
    import torch

    from train.data import random_crop

    x = torch.arange(2 * 3 * 100, dtype=torch.float32).reshape(2, 3, 100)
    first = random_crop(x, 25, torch.Generator().manual_seed(1))
    again = random_crop(x, 25, torch.Generator().manual_seed(1))
    assert first.shape == (2, 3, 25) and torch.equal(first, again)
    for record in range(2):
        start = int(first[record, 0, 0] - x[record, 0, 0])
        assert torch.equal(first[record], x[record, :, start : start + 25])
    assert torch.equal(random_crop(x, 100, torch.Generator()), x)


def test_fit_with_crops_validates_on_whole_records(synth_cache, tmp_path: Path) -> None:
    from runtime.card import read_card
    from runtime.onnx_io import load_model
    from train.config import FitConfig, RunSpec
    from train.fit import run_fit

    summary = run_fit(synth_cache.path, RunSpec("sepresnet", 0.25), tmp_path / "run",
                      FitConfig(epochs=1, seed=0, threads=1, crop=250))  # fmt: skip
    card = read_card(load_model(summary["model"]))
    assert card.window == synth_cache.samples and card.training["config"]["crop"] == 250


def test_study_trainings_resume_their_own_checkpoint(synth_cache, tmp_path: Path) -> None:
    from train.config import FitConfig, RunSpec
    from train.fit import run_fit

    run = tmp_path / "run"
    config = FitConfig(epochs=2, seed=0, threads=1)
    first = run_fit(synth_cache.path, RunSpec("sepresnet", 0.25), run, config)
    (run / "run.json").unlink()  # as if the process died after its last checkpoint
    resumed = run_fit(synth_cache.path, RunSpec("sepresnet", 0.25), run, config, force=True, resume="auto")
    assert resumed["training"]["epochs_run"] == 2 and resumed["val_macro_auc"] == first["val_macro_auc"]
    other = run_fit(synth_cache.path, RunSpec("sepresnet", 0.25), run, FitConfig(epochs=1, seed=1, threads=1),
                    force=True, resume="auto")  # another run's checkpoint: start afresh  # fmt: skip
    assert other["training"]["epochs_run"] == 1
