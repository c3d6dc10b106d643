"""Small helpers shared by tests: run a console script, block torch imports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

NO_TORCH = """
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is blocked in this test")
sys.meta_path.insert(0, _NoTorch())
"""


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
    timeout: float = 300,
    no_torch: bool = False,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m <package>.cli args`` in a subprocess (optionally with torch blocked)."""
    program, *rest = args
    code = (
        NO_TORCH if no_torch else ""
    ) + f"import sys; from {program}.cli import main; sys.argv[0] = {program!r}; main()"
    full_env = {**os.environ, **(env or {})}
    full_env.pop("ECG_SHRINK_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-c", code, *rest], capture_output=True, text=True, env=full_env, cwd=cwd or ROOT,
        input=stdin, timeout=timeout,
    )  # fmt: skip


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str, code: int = 1) -> None:
    """A failed command: the exit code, one line on stderr naming the problem, no traceback."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.lower().startswith(("error", "internal error"))]
    assert len(lines) == 1, result.stderr
    for fragment in fragments:
        assert fragment.lower() in lines[0].lower(), (fragment, lines[0])
