"""The main job's smoke path: the tiny study runs end to end and its report is complete."""

from __future__ import annotations

import json
import re
from pathlib import Path

import onnx
import pytest

from runtime.session import make_session
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("study") / "out"
    result = run_cli("compress", "study", "--recipe", "tiny", "--out", str(out), "--threads", "1", timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().splitlines()[-1] == f"report: {out / 'report.md'}"
    return out


def test_report_structure(study: Path) -> None:
    report = (study / "report.md").read_text()
    for heading in ("## Models", "## Targets", "## Width sweep", "## Plots", "## What held and what did not",
                    "## Environment", "## Differences with paired bootstrap intervals", "## Wall time"):  # fmt: skip
        assert heading in report
    for row in ("teacher fp32", "student trained alone", "student distilled", "pruned distilled student",
                "combined: distill -> prune -> int8", "single-lead student distilled", "teacher int8"):  # fmt: skip
        assert f"| {row} |" in report
    assert "synthetic" in report
    assert "| student distilled | student trained alone | " in report
    assert "teacher macro AUC >= 0.925" not in report  # real-data targets only on real data
    assert "![learning curves](plots/learning-curves.png)" in report
    for image in re.findall(r"\]\(([^)]+\.png)\)", report):
        assert (study / image).is_file(), image


def test_every_model_exists_and_loads(study: Path) -> None:
    rows = json.loads((study / "benchmark.json").read_text())["rows"]
    assert len(rows) == 10 and not any("error" in row for row in rows)
    for row in rows:
        path = Path(row["model"])
        onnx.checker.check_model(onnx.load(path))
        make_session(path)


def test_rerun_reuses_every_step(study: Path) -> None:
    before = (study / "manifest.json").read_text()
    result = run_cli("compress", "study", "--recipe", "tiny", "--out", str(study), "--threads", "1", timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert ": running" not in result.stderr and result.stderr.count("unchanged, reusing") == 15
    assert (study / "manifest.json").read_text() == before


@pytest.mark.slow
def test_torchrun_two_processes(synth_cache, tmp_path: Path) -> None:
    """The same training code under torchrun (DistributedDataParallel, gloo on CPU)."""
    import subprocess
    import sys

    out = tmp_path / "ddp"
    result = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "train.cli", "fit", "--data",
         str(synth_cache.path), "--arch", "sepresnet", "--width", "0.25", "--epochs", "1", "--threads", "1", "--out",
         str(out)], capture_output=True, text=True, timeout=600, cwd=Path(__file__).resolve().parents[1],
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    assert (out / "model.onnx").is_file() and len((out / "metrics.jsonl").read_text().splitlines()) == 1
