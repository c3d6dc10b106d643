"""Trust: hostile files, crash safety (kill and resume), reproducibility, fuzzing of our parsers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from runtime.card import PREFIX, read_card
from runtime.dataset.scp import parse_scp_codes
from runtime.errors import DataError, ModelError, ToolkitError
from runtime.leads import parse_lead_list
from runtime.onnx_io import load_model
from runtime.wfdb_io import read_header
from tests.helpers import ROOT, assert_one_line_error, run_cli

FUZZ = settings(max_examples=int(os.environ.get("ECG_SHRINK_FUZZ_EXAMPLES", "150")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip


def _tiny_graph(weight: onnx.TensorProto) -> onnx.ModelProto:
    node = helper.make_node("Conv", ["ecg", weight.name], ["probabilities"])
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("ecg", TensorProto.FLOAT, [1, 12, 100])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, None)], [weight])  # fmt: skip
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _external(tmp_path: Path, location: str) -> Path:
    weight = numpy_helper.from_array(np.zeros((4, 12, 3), np.float32), "w")
    weight.ClearField("raw_data")
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value=location)
    path = tmp_path / "ext.onnx"
    path.write_bytes(_tiny_graph(weight).SerializeToString())
    return path


@pytest.mark.parametrize("location", ["/etc/passwd", "../../etc/passwd", "C:\\secrets.bin", "missing.bin"])
def test_external_data_outside_the_folder_is_refused(tmp_path: Path, location: str) -> None:
    path = _external(tmp_path, location)
    with pytest.raises(ModelError, match=r"external data|outside|not found|relative"):
        load_model(path)
    result = run_cli("compress", "inspect", str(path), no_torch=True)
    assert_one_line_error(result, "ext.onnx")


def test_tensor_size_inconsistent_with_data(tmp_path: Path) -> None:
    weight = numpy_helper.from_array(np.zeros((4, 12, 3), np.float32), "w")
    weight.raw_data = weight.raw_data[:-8]
    path = tmp_path / "short.onnx"
    path.write_bytes(_tiny_graph(weight).SerializeToString())
    with pytest.raises(ModelError, match="corrupt"):
        load_model(path)


def test_absurd_tensor_size_refused_before_allocating(tmp_path: Path) -> None:
    weight = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[100000, 100000, 100])
    weight.raw_data = b"\x00" * 16
    path = tmp_path / "huge.onnx"
    path.write_bytes(_tiny_graph(weight).SerializeToString())
    with pytest.raises(ModelError, match="above the"):
        load_model(path)


def test_truncated_model(float_model: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.onnx"
    path.write_bytes(float_model.read_bytes()[: float_model.stat().st_size // 3])
    result = run_cli("runtime", "classify", str(ROOT / "tests/data/cpsc2018/A0001.hea"), "--model", str(path),
                     no_torch=True)  # fmt: skip
    assert_one_line_error(result, "cut.onnx")


def test_model_too_large_for_the_limit(float_model: Path) -> None:
    result = run_cli("compress", "inspect", str(float_model), env={"ECG_SHRINK_MAX_MODEL_BYTES": "1000"},
                     no_torch=True)  # fmt: skip
    assert_one_line_error(result, "ECG_SHRINK_MAX_MODEL_BYTES")


def test_malformed_card_names_the_key(float_model: Path, tmp_path: Path) -> None:
    model = onnx.load(float_model)
    for prop in model.metadata_props:
        if prop.key == PREFIX + "thresholds":
            prop.value = "[0.5, oops"
    path = tmp_path / "badcard.onnx"
    onnx.save(model, path)
    with pytest.raises(ModelError, match=r"ecgshrink\.thresholds"):
        read_card(onnx.load(path))
    result = run_cli("runtime", "info", str(path), no_torch=True)
    assert_one_line_error(result, "ecgshrink.thresholds")


def test_dataset_size_limit(synth_dir: Path, tmp_path: Path) -> None:
    result = run_cli("train", "prepare", str(synth_dir), "--out", str(tmp_path / "c"),
                     env={"ECG_SHRINK_MAX_DATASET_BYTES": "1000"})  # fmt: skip
    assert_one_line_error(result, "ECG_SHRINK_MAX_DATASET_BYTES")
    assert not (tmp_path / "c").exists()


def test_debug_flag_shows_the_traceback(tmp_path: Path) -> None:
    bogus = tmp_path / "x.onnx"
    bogus.write_text("nope")
    result = run_cli("compress", "--debug", "inspect", str(bogus), no_torch=True)
    assert result.returncode != 0 and "Traceback" in result.stderr


# ---------------------------------------------------------------- crash safety


def _weights(path: Path) -> dict[str, np.ndarray]:
    return {t.name: numpy_helper.to_array(t) for t in onnx.load(path).graph.initializer}


def test_killed_training_resumes_to_identical_weights(synth_cache, tmp_path: Path) -> None:
    args = ["--data", str(synth_cache.path), "--arch", "sepresnet", "--width", "0.25", "--epochs", "4",
            "--threads", "1", "--patience", "10", "--augment"]  # fmt: skip
    straight = run_cli("train", "fit", *args, "--out", str(tmp_path / "straight"))
    assert straight.returncode == 0, straight.stderr
    killed_dir = tmp_path / "killed"
    code = "import sys; from train.cli import main; sys.argv[0] = 'train'; main()"
    process = subprocess.Popen([sys.executable, "-c", code, "fit", *args, "--out", str(killed_dir)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    checkpoint = killed_dir / "checkpoint.pt"
    deadline = time.time() + 240
    while time.time() < deadline and not checkpoint.exists():
        time.sleep(0.05)
    time.sleep(0.3)  # now somewhere inside epoch 2
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert checkpoint.exists() and not (killed_dir / "model.onnx").exists() and not (killed_dir / "run.json").exists()
    # a kill inside a write leaves at most a hidden temp file, never a partial result; resuming removes it
    assert all(p.name.startswith(".") for p in killed_dir.iterdir() if p.name.endswith(".tmp"))
    resumed = run_cli("train", "fit", *args, "--out", str(killed_dir), "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert not [p for p in killed_dir.iterdir() if p.name.endswith(".tmp")]
    assert "resuming from epoch" in resumed.stderr
    a, b = _weights(tmp_path / "straight" / "model.onnx"), _weights(killed_dir / "model.onnx")
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


# ---------------------------------------------------------------- reproducibility


def test_quantized_file_is_reproducible(float_model: Path, tmp_path: Path) -> None:
    from compress.quant_config import QuantizationConfig
    from compress.quantize import quantize_model

    for name in ("a.onnx", "b.onnx"):
        quantize_model(float_model, tmp_path / name, config=QuantizationConfig(calib_samples=32))
    assert (tmp_path / "a.onnx").read_bytes() == (tmp_path / "b.onnx").read_bytes()


def test_card_records_versions_and_seed(float_model: Path) -> None:
    card = read_card(onnx.load(float_model))
    assert {"seed", "torch", "onnx", "onnxruntime", "numpy", "python"} <= set(card.environment)


# ---------------------------------------------------------------- fuzzing (only our own error type may escape)


@FUZZ
@given(st.text(max_size=200))
def test_fuzz_scp_codes(text: str) -> None:
    try:
        codes = parse_scp_codes(text)
    except DataError:
        return
    assert all(isinstance(k, str) and isinstance(v, float) for k, v in codes.items())


@FUZZ
@given(st.lists(st.text(max_size=12), max_size=6))
def test_fuzz_lead_lists(names: list[str]) -> None:
    with contextlib.suppress(DataError):
        parse_lead_list(",".join(names))


@FUZZ
@given(st.dictionaries(st.sampled_from(["classes", "fs", "leads", "window", "thresholds", "lineage", "metrics"]),
                       st.one_of(st.none(), st.integers(), st.floats(allow_nan=True), st.text(max_size=8),
                                 st.lists(st.one_of(st.text(max_size=4), st.floats(0, 1)), max_size=6))))  # fmt: skip
def test_fuzz_model_card(values: dict) -> None:
    model = helper.make_model(helper.make_graph([], "g", [], []))
    for key, value in values.items():
        model.metadata_props.add(key=PREFIX + key, value=json.dumps(value))
    with contextlib.suppress(ModelError):
        read_card(model)


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_wfdb_headers(tmp_path_factory: pytest.TempPathFactory, content: bytes) -> None:
    folder = tmp_path_factory.mktemp("hea")
    (folder / "r.hea").write_bytes(content)
    with contextlib.suppress(DataError):
        read_header(folder / "r.hea")


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_onnx_bytes(tmp_path_factory: pytest.TempPathFactory, content: bytes) -> None:
    path = tmp_path_factory.mktemp("onnx") / "m.onnx"
    path.write_bytes(content)
    with contextlib.suppress(ModelError):
        load_model(path)


@FUZZ
@given(st.text(max_size=30))
def test_fuzz_cli_int_lists(text: str) -> None:
    from benchmark.harness import BenchmarkConfig
    from runtime.settings import from_options

    try:
        values = from_options(BenchmarkConfig, {"threads": text}).threads
    except ToolkitError:
        return
    assert values and all(isinstance(v, int) and v >= 1 for v in values)


def test_artifacts_honour_the_umask(tmp_path: Path) -> None:
    import os

    from runtime.atomic import atomic_directory, atomic_write_bytes

    previous = os.umask(0o022)
    try:
        written = atomic_write_bytes(tmp_path / "model.onnx", b"x")
        with atomic_directory(tmp_path / "cache") as folder:
            (folder / "f").write_bytes(b"y")
    finally:
        os.umask(previous)
    assert written.stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o755


def test_max_f1_thresholds_are_exact_and_fast() -> None:
    import time

    import numpy as np
    from sklearn.metrics import f1_score

    from runtime.metrics import best_f1_thresholds

    rng = np.random.default_rng(0)
    labels = (rng.random((2146, 5)) < 0.3).astype(int)
    scores = np.clip(labels * 0.3 + rng.random((2146, 5)) * 0.8, 0, 1)
    started = time.perf_counter()
    thresholds = best_f1_thresholds(labels, scores)
    assert time.perf_counter() - started < 0.5
    for k in range(5):
        best = max(f1_score(labels[:, k], scores[:, k] >= cut) for cut in np.unique(scores[:, k])[::3])
        assert f1_score(labels[:, k], scores[:, k] >= thresholds[k]) >= best - 1e-12
    assert best_f1_thresholds(np.zeros((4, 1), dtype=int), np.ones((4, 1))) == [0.5]
