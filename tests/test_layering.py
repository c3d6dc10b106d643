"""The packages form layers and every import points down (issue 14's layering target).

runtime (torch-free base) <- models <- train <- compress (pipeline, recipes, study);
benchmark sits on runtime alone (it runs on a Pi) and compress may use it.  Imports inside
functions count too: a cycle hidden in a function body is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "runtime": {"runtime"},
    "models": {"runtime", "models"},
    "benchmark": {"runtime", "benchmark"},
    "train": {"runtime", "models", "train"},
    "compress": {"runtime", "models", "train", "benchmark", "compress"},
}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """(top-level package, line) of every import in ``path``, function bodies included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add((node.module.split(".")[0], node.lineno))
    return found


def test_every_import_points_down_the_layers() -> None:
    violations = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for imported, line in imported_packages(path):
                if imported in ALLOWED and imported not in allowed:
                    violations.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert not violations, "\n".join(violations)


def test_the_checker_sees_imports_inside_functions(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from compress.pipeline import run_recipe\n    import benchmark.cli\n")
    assert {name for name, _ in imported_packages(module)} == {"compress", "benchmark"}
