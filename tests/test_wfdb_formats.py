"""WFDB formats beyond 16 are read through the optional wfdb package; without it, one clear line."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from runtime.errors import DataError
from runtime.wfdb_io import read_physical


@pytest.fixture
def record_212(tmp_path: Path) -> Path:
    import wfdb

    rng = np.random.default_rng(0)
    signal = np.round(rng.normal(0, 0.5, (1000, 2)), 3)
    wfdb.wrsamp("r212", fs=100, units=["mV", "mV"], sig_name=["I", "II"], p_signal=signal, fmt=["212", "212"],
                adc_gain=[200.0, 200.0], baseline=[0, 0], write_dir=str(tmp_path))  # fmt: skip
    return tmp_path / "r212.hea"


def test_format_212_reads_through_wfdb(record_212: Path) -> None:
    physical, header = read_physical(record_212)
    assert physical.shape == (2, 1000) and np.isfinite(physical).all()
    assert [signal.fmt for signal in header.signals] == [212, 212]


def test_without_wfdb_the_error_names_the_extra(record_212: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "wfdb", None)  # as on a device that installed the base package only
    with pytest.raises(DataError, match=r"format 212 .*pip install 'ecg-shrink\[formats\]'"):
        read_physical(record_212)
