"""``compress publish``: a shareable copy of a model whose card carries its benchmark figures.

The copy has the same graph and weights; its card gains ``metrics.benchmark`` (the row that
``benchmark run`` measured for the original file: test-split macro and per-class AUC with the
bootstrap interval, Fmax, bytes, latency, the machine) and a licence line, and loses the local
paths of the training machine (a stranger's machine has no ``/root/work/cache``; lineage keeps
each parent's file name and sha256).  Torch-free.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runtime.card import read_card, write_card
from runtime.errors import UsageError
from runtime.onnx_io import load_model, save_model, sha256_file

LOCAL_DATASET_KEYS = ("cache", "source", "path")
BENCHMARK_FIELDS = ("macro_auc", "macro_auc_low", "macro_auc_high", "auc", "fmax", "f1_at_thresholds",
                    "test_records", "dataset", "bytes", "parameters", "macs", "precision", "provider", "threads",
                    "batch", "p50_ms")  # fmt: skip


def benchmark_row(result: dict[str, Any], model: Path) -> dict[str, Any]:
    """The first row of ``result`` measured on ``model`` (matched by resolved path, then file name)."""
    rows = [row for row in result.get("rows", []) if "error" not in row]
    for match in (
        lambda row: Path(row["model"]).resolve() == model.resolve(),
        lambda row: row["name"] == model.name,
    ):
        found = [row for row in rows if match(row)]
        if found:
            return found[0]
    raise UsageError(f"the benchmark results have no row for {model}; run 'benchmark run {model} ... -o FILE' first")


def publish(source: Path, output: Path, benchmark: dict[str, Any], licence: str) -> dict[str, Any]:
    """Write ``output``: ``source`` with its benchmark row and licence in the card; return the new metrics."""
    model = load_model(source)
    card = read_card(model, str(source))
    row = benchmark_row(benchmark, source)
    environment = benchmark.get("environment", {})
    card.metrics["benchmark"] = {
        **{key: row[key] for key in BENCHMARK_FIELDS if key in row},
        "split": benchmark.get("config", {}).get("split", "test"),
        "measured_file_sha256": sha256_file(source),
        "machine": {key: environment.get(key) for key in ("cpu", "cores", "onnxruntime", "os") if key in environment},
    }
    card.dataset = {key: value for key, value in card.dataset.items() if key not in LOCAL_DATASET_KEYS}
    card.lineage = [{**step, "parent_file": Path(str(step.get("parent_file", ""))).name} for step in card.lineage]
    card.dataset["licence"] = licence
    save_model(write_card(model, card), output)
    return card.metrics["benchmark"]


def load_benchmark(path: Path) -> dict[str, Any]:
    """Read a ``benchmark run -o`` JSON file."""
    try:
        result: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"{path}: not a readable benchmark JSON ({' '.join(str(exc).split())[:100]})") from None
    if not isinstance(result.get("rows"), list):
        raise UsageError(f"{path} has no 'rows'; pass the JSON written by 'benchmark run -o FILE'")
    return result
