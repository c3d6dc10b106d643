"""Every console script answers --help at once; the torch-free core imports without torch."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import NO_TORCH, ROOT, run_cli


@pytest.mark.parametrize("program", ["train", "compress", "benchmark", "runtime"])
def test_help(program: str) -> None:
    result = run_cli(program, "--help", no_torch=program != "train")
    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


@pytest.mark.parametrize("program", ["train", "compress", "benchmark", "runtime"])
def test_help_does_not_import_torch(program: str) -> None:
    code = f"import sys; from {program}.cli import main; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "False", out.stderr


def test_torch_free_modules_import_without_torch() -> None:
    modules = ["runtime", "runtime.classifier", "runtime.monitor", "runtime.cli", "benchmark", "benchmark.cli",
               "benchmark.harness", "benchmark.runtimes", "compress.quantize", "runtime.inspect_model"]  # fmt: skip
    code = (
        NO_TORCH + "import importlib\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules) + "print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert out.stdout.strip() == "ok", out.stderr


def test_wrong_arguments_are_usage_errors() -> None:
    result = run_cli("compress", "quantize", no_torch=True)
    assert result.returncode == 2 and "Missing argument" in result.stderr
    bad = run_cli("benchmark", "run", "x.onnx", "--threads", "two", no_torch=True)
    assert bad.returncode == 2 and "--threads" in bad.stderr
