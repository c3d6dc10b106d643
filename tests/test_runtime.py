"""runtime: Classifier, readers for real records (CPSC .mat, PTB 1 kHz), classify/monitor CLIs, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from runtime.classifier import Classifier
from runtime.errors import DataError, ModelError
from runtime.leads import STANDARD_LEADS, canonical_lead
from runtime.records import read_recording
from runtime.signal import resample, spectral_filter, windows
from tests.conftest import DATA
from tests.helpers import assert_one_line_error, run_cli

CPSC = DATA / "cpsc2018"
PTB = DATA / "ptbdb" / "s0010_re.hea"


def test_lead_names_map_case_insensitively() -> None:
    assert canonical_lead("avr") == canonical_lead("AVR") == canonical_lead("aVR") == "aVR"
    assert canonical_lead("v6") == "V6" and canonical_lead("vx") is None


def test_real_records_read_with_their_rates_and_names() -> None:
    cpsc = read_recording(CPSC / "A0001.hea")
    assert cpsc.fs == 500 and cpsc.leads[3] == "aVR" and cpsc.signal.shape[0] == 12
    ptb = read_recording(PTB)
    assert ptb.fs == 1000 and ptb.signal.shape == (15, 38400) and ptb.leads[3] == "avr"


def test_resample_any_rate_keeps_a_sine() -> None:
    for fs in (257, 360, 500, 1000):
        t = np.arange(int(10 * fs)) / fs
        y = resample(np.sin(2 * np.pi * 2 * t)[None], fs, 100)
        expected = np.sin(2 * np.pi * 2 * np.arange(y.shape[1]) / 100)
        assert np.abs(y[0, 20:-20] - expected[20:-20]).max() < 1e-2


def test_windows_cover_the_record_and_pad_short_ones() -> None:
    x = np.arange(2500, dtype=np.float32)[None]
    w = windows(x, 1000, 500)
    assert w.shape == (4, 1, 1000) and w[-1, 0, -1] == 2499
    assert windows(x[:, :600], 1000, 500).shape == (1, 1, 1000)
    with pytest.raises(DataError):
        windows(x[:, :300], 1000, 500)


def test_classifier_on_real_records(float_model: Path) -> None:
    classifier = Classifier(float_model)
    for path in (CPSC / "A0001.hea", PTB):
        recording = read_recording(path)
        prediction = classifier.predict(recording.signal, recording.fs, recording.leads, str(path))
        assert set(prediction.probabilities) == {"NORM", "MI", "STTC", "CD", "HYP"}
        assert prediction.windows >= 2  # longer than 10 s: several windows, max-aggregated


def test_shuffled_and_extra_leads_give_the_same_answer(float_model: Path) -> None:
    classifier = Classifier(float_model)
    recording = read_recording(CPSC / "A0002.hea")
    base = classifier.predict(recording.signal, recording.fs, recording.leads)
    order = np.random.default_rng(0).permutation(12)
    extra = np.vstack([recording.signal[order], np.zeros((1, recording.signal.shape[1]), np.float32)])
    names = [recording.leads[i].upper() for i in order] + ["VX"]
    again = classifier.predict(extra, recording.fs, names)
    assert again.probabilities == pytest.approx(base.probabilities, abs=1e-6)


def test_classifier_refusals(float_model: Path) -> None:
    classifier = Classifier(float_model)
    signal = np.zeros((12, 1000), np.float32)
    with pytest.raises(DataError, match="lacks lead"):
        classifier.predict(signal[:11], 100, STANDARD_LEADS[:11])
    nan = signal.copy()
    nan[4, 10] = np.nan
    with pytest.raises(DataError, match="aVL"):
        classifier.predict(nan, 100, STANDARD_LEADS)
    with pytest.raises(DataError, match="below the model"):
        classifier.predict(signal, 50, STANDARD_LEADS)
    with pytest.raises(DataError, match="2-D"):
        classifier.predict(signal[0], 100, STANDARD_LEADS)
    flat = classifier.predict(np.random.default_rng(0).normal(0, 0.3, (12, 1000)).astype(np.float32) * (np.arange(12) != 2)[:, None], 100, STANDARD_LEADS)  # fmt: skip
    assert any("III is flat" in w for w in flat.warnings)


def test_foreign_model_is_explained(float_model: Path, tmp_path: Path) -> None:
    import onnx

    model = onnx.load(float_model)
    del model.metadata_props[:]
    onnx.save(model, tmp_path / "foreign.onnx")
    with pytest.raises(ModelError, match="no ecg-shrink model card"):
        Classifier(tmp_path / "foreign.onnx")


def test_classify_cli_on_shared_records(float_model: Path) -> None:
    result = run_cli("runtime", "classify", str(CPSC / "A0001.hea"), str(CPSC / "A0003.mat"), str(PTB), "--model",
                     str(float_model), "--json", no_torch=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert [Path(r["record"]).name for r in rows] == ["A0001.hea", "A0003.mat", "s0010_re.hea"]


def test_npy_and_csv_inputs(float_model: Path, tmp_path: Path) -> None:
    recording = read_recording(CPSC / "A0002.hea")
    np.save(tmp_path / "r.npy", recording.signal.T)  # [samples, leads] is accepted too
    header = ",".join(["time", *recording.leads])
    body = "\n".join(
        ",".join([f"{i / 500:.3f}", *(f"{v:.4f}" for v in row)]) for i, row in enumerate(recording.signal.T)
    )
    (tmp_path / "r.csv").write_text(header + "\n" + body + "\n")
    leads = ",".join(recording.leads)
    npy = run_cli("runtime", "classify", str(tmp_path / "r.npy"), "--model", str(float_model), "--fs", "500",
                  "--leads", leads, "--json", no_torch=True)  # fmt: skip
    csv = run_cli("runtime", "classify", str(tmp_path / "r.csv"), "--model", str(float_model), "--fs", "500", "--json",
                  no_torch=True)  # fmt: skip
    assert npy.returncode == 0 and csv.returncode == 0, (npy.stderr, csv.stderr)
    a, b = json.loads(npy.stdout)[0]["probabilities"], json.loads(csv.stdout)[0]["probabilities"]
    assert a == pytest.approx(b, abs=1e-3)
    no_fs = run_cli("runtime", "classify", str(tmp_path / "r.npy"), "--model", str(float_model), no_torch=True)
    assert_one_line_error(no_fs, "--fs", code=2)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [(b"", "empty header"), (b"rec 12 500 99999999999\n", "samples per signal"), (b"\xff\xfe\x00garbage", "not text")],
)
def test_unreadable_records(float_model: Path, tmp_path: Path, content: bytes, fragment: str) -> None:
    (tmp_path / "rec.hea").write_bytes(content)
    result = run_cli("runtime", "classify", str(tmp_path / "rec.hea"), "--model", str(float_model), no_torch=True)
    assert_one_line_error(result, fragment)


def test_truncated_mat_record(float_model: Path, tmp_path: Path) -> None:
    (tmp_path / "A0001.hea").write_bytes((CPSC / "A0001.hea").read_bytes())
    (tmp_path / "A0001.mat").write_bytes((CPSC / "A0001.mat").read_bytes()[:5000])
    result = run_cli("runtime", "classify", str(tmp_path / "A0001.hea"), "--model", str(float_model), no_torch=True)
    assert_one_line_error(result, "truncated")


def test_monitor_streams_and_survives_bad_chunks(float_model: Path) -> None:
    recording = read_recording(CPSC / "A0001.hea")
    lines = [",".join(f"{v:.4f}" for v in row) for row in recording.signal.T]
    lines[3000] = "1,2,oops"
    lines[6000] = ",".join(["nan"] * 12)
    result = run_cli("runtime", "monitor", "-", "--model", str(float_model), "--fs", "500", "--leads",
                     ",".join(recording.leads), "--json", stdin="\n".join(lines) + "\n", no_torch=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stdout.splitlines()]
    summary = events[-1]["summary"]
    assert summary["bad_chunks"] == 2 and summary["results"] >= 2 and summary["real_time_factor"] > 1
    assert sum("error" in e for e in events[:-1]) == 2
    assert all("latency_ms" in e for e in events[:-1] if "error" not in e)


def test_monitor_a_file(float_model: Path) -> None:
    result = run_cli("runtime", "monitor", str(PTB), "--model", str(float_model), "--hop-s", "5", "--json",
                     no_torch=True)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["summary"]["results"] >= 5


def test_text_in_a_csv_lead_column(float_model: Path, tmp_path: Path) -> None:
    rows = ["I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6"] + [",".join(["0.1"] * 12)] * 600
    rows[10] = ",".join(["0.1"] * 5 + ["abc"] + ["0.1"] * 6)
    (tmp_path / "r.csv").write_text("\n".join(rows) + "\n")
    result = run_cli("runtime", "classify", str(tmp_path / "r.csv"), "--model", str(float_model), "--fs", "100",
                     no_torch=True)  # fmt: skip
    assert_one_line_error(result, "line 11", "non-numeric")


def test_unknown_lead_name(float_model: Path, tmp_path: Path) -> None:
    np.save(tmp_path / "r.npy", np.zeros((2, 1000), np.float32))
    result = run_cli("runtime", "classify", str(tmp_path / "r.npy"), "--model", str(float_model), "--fs", "100",
                     "--leads", "II,Z9", no_torch=True)  # fmt: skip
    assert_one_line_error(result, "unknown lead name 'Z9'")


def test_spectral_filter_keeps_the_band_with_zero_phase() -> None:
    """A 2 Hz + 30 Hz record through a 0.5-15 Hz band: the 2 Hz sine comes back in place, the 30 Hz goes."""
    fs = 100.0
    t = np.arange(1000) / fs
    slow, fast = np.sin(2 * np.pi * 2.0 * t), 0.5 * np.sin(2 * np.pi * 30.0 * t)
    record = np.stack([slow + fast, -(slow + fast)]).astype(np.float32)
    out = spectral_filter(record, fs, lambda f: ((f >= 0.5) & (f <= 15.0)).astype(float))
    assert out.dtype == np.float32  # the signal's precision
    np.testing.assert_allclose(out, np.stack([slow, -slow]), atol=1e-5)
