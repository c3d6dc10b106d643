"""Shared fixtures: tiny synthetic PTB-XL folders and their caches (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def synth_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 300-record synthetic PTB-XL folder (100 Hz)."""
    from train.synth.generate import write_dataset

    out = tmp_path_factory.mktemp("synth") / "ptbxl"
    write_dataset(out, records=300, seed=3, fs="100", workers=1, progress=False)
    return out


@pytest.fixture(scope="session")
def synth_cache(synth_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """The prepared cache of ``synth_dir``."""
    from runtime.dataset.cache import prepare

    return prepare(synth_dir, tmp_path_factory.mktemp("cache") / "c", workers=1, progress=False)


@pytest.fixture(scope="session")
def float_model(synth_cache, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny trained model (sepresnet w0.5, 2 epochs) exported with its card."""
    from train.config import FitConfig, RunSpec
    from train.fit import run_fit

    out = tmp_path_factory.mktemp("qrun") / "run"
    run_fit(synth_cache.path, RunSpec("sepresnet", 0.5), out, FitConfig(epochs=2, seed=2, threads=1))
    return out / "model.onnx"


@pytest.fixture(scope="session")
def int8_model(float_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``float_model`` quantized with the default settings (in-process)."""
    from compress.quant_config import QuantizationConfig
    from compress.quantize import quantize_model

    target = tmp_path_factory.mktemp("q8") / "model.int8.onnx"
    quantize_model(float_model, target, config=QuantizationConfig(calib_samples=64))
    return target
