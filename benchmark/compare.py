"""``benchmark compare``: a regression gate between two result files (exit 3 when exceeded)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmark.rows import BenchmarkRow
from runtime.errors import UsageError


def load_result(path: Path) -> dict[str, Any]:
    """Read a ``benchmark run -o`` JSON file."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"{path} not found; pass a results JSON written by 'benchmark run -o'") from None
    except ValueError:
        raise UsageError(f"{path} is not JSON; pass a results file written by 'benchmark run -o'") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise UsageError(f"{path} has no 'rows'; pass a results file written by 'benchmark run -o'")
    return data


def _configuration(row: BenchmarkRow) -> tuple[Any, ...]:
    return (row.get("provider"), row.get("threads"), row.get("batch"))


def _match(row: BenchmarkRow, base_rows: list[BenchmarkRow]) -> BenchmarkRow | None:
    """The base row of the same file (sha256 id), else of the same label, in the same configuration."""
    for same in (lambda b: row.get("id") is not None and b.get("id") == row.get("id"),
                 lambda b: b.get("name") == row.get("name")):  # fmt: skip
        found = [b for b in base_rows if same(b) and _configuration(b) == _configuration(row)]
        if found:
            return found[0]
    return None


def compare(
    base: dict[str, Any], new: dict[str, Any], max_auc_drop: float | None, max_slowdown: float | None
) -> tuple[list[dict[str, Any]], list[str]]:
    """Match rows by file identity (sha256, then label) and configuration; return comparisons and violations."""
    base_rows = [r for r in base["rows"] if "error" not in r]
    comparisons, violations = [], []
    for row in new["rows"]:
        if "error" in row:
            violations.append(f"{row['name']}: failed in the new run ({row['error']})")
            continue
        old = _match(row, base_rows)
        if old is None:
            continue
        scored = old.get("macro_auc") is not None and row.get("macro_auc") is not None
        auc_drop = old["macro_auc"] - row["macro_auc"] if scored else 0.0
        slowdown = row["p50_ms"] / old["p50_ms"]
        comparisons.append({"name": row["name"], "threads": row["threads"], "batch": row["batch"],
                            "auc_drop": auc_drop, "slowdown": slowdown})  # fmt: skip
        if max_auc_drop is not None and auc_drop > max_auc_drop:
            violations.append(f"{row['name']}: macro AUC fell {auc_drop:.4f} > {max_auc_drop}")
        if max_slowdown is not None and slowdown > max_slowdown:
            violations.append(
                f"{row['name']} (t{row['threads']} b{row['batch']}): p50 {slowdown:.2f}x slower > {max_slowdown}x"
            )
    if not comparisons:
        raise UsageError(
            "no rows match between the two files (same model files or labels, providers, threads and batches)"
        )
    return comparisons, violations
