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
