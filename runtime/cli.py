"""``runtime``: classify recordings and monitor streams on a device (torch-free)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from runtime.cli_support import ToolkitGroup
from runtime.pretrained import DEFAULT_MODEL

MODEL_HELP = f"ONNX file, or the name of a shipped model (default: {DEFAULT_MODEL}; see 'runtime info')."


@click.group(cls=ToolkitGroup)
def main() -> None:
    """Run ECG models on recordings and streams (onnxruntime + numpy only)."""


@main.command()
@click.argument("records", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", default=None, help=MODEL_HELP)
@click.option("--fs", default=None, type=click.FloatRange(min=0, min_open=True), help="Sampling rate for .npy/CSV.")
@click.option("--leads", default=None, help="Lead names for .npy, e.g. I,II,III,aVR,aVL,aVF,V1,V2,V3,V4,V5,V6.")
@click.option("--aggregate", default="max", show_default=True, type=click.Choice(["max", "mean"]))
@click.option("--threads", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True)
def classify(
    records: tuple[Path, ...],
    model: str | None,
    fs: float | None,
    leads: str | None,
    aggregate: str,
    threads: int,
    as_json: bool,
) -> None:
    """Classify each RECORD (WFDB .hea/.dat/.mat, .npy, CSV): probabilities and detected classes."""
    from runtime.classifier import Classifier
    from runtime.pretrained import resolve_model
    from runtime.records import read_recording

    classifier = Classifier(resolve_model(model), threads=threads, aggregate=aggregate)
    results = []
    for path in records:
        recording = read_recording(path, fs, leads)
        prediction = classifier.predict(recording.signal, recording.fs, recording.leads, source=str(path))
        for warning in prediction.warnings:
            click.echo(f"warning: {warning}", err=True)
        results.append({"record": str(path), "fs": recording.fs, "seconds": recording.signal.shape[1] / recording.fs,
                        **prediction.to_dict()})  # fmt: skip
    if as_json:
        click.echo(json.dumps(results, indent=2))
        return
    classes = classifier.card.classes
    click.echo(f"{'record':<28} {'s':>6} " + " ".join(f"{c:>6}" for c in classes) + "  detected")
    for row in results:
        probabilities = " ".join(f"{row['probabilities'][c]:>6.3f}" for c in classes)
        click.echo(f"{Path(row['record']).name:<28.28} {row['seconds']:>6.1f} {probabilities}  "
                   f"{', '.join(row['detected']) or '-'}")  # fmt: skip


@main.command("monitor")
@click.argument("source", type=str)
@click.option("--model", default=None, help=MODEL_HELP)
@click.option("--hop-s", default=2.0, show_default=True, type=float, help="Seconds between results.")
@click.option("--realtime", is_flag=True, help="Pace the stream at its real rate (default: as fast as possible).")
@click.option(
    "--fs", default=None, type=click.FloatRange(min=0, min_open=True), help="Rate of stdin / .npy / CSV input."
)
@click.option("--leads", default=None, help="Lead names of stdin / .npy columns.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def monitor_command(
    source: str, model: str | None, hop_s: float, realtime: bool, fs: float | None, leads: str | None, as_json: bool
) -> None:
    """Stream SOURCE (a recording file, or - for CSV samples on stdin) through the model, one result per hop."""
    from runtime.classifier import Classifier
    from runtime.errors import UsageError
    from runtime.leads import parse_lead_list
    from runtime.monitor import chunks_from_array, chunks_from_text, monitor
    from runtime.pretrained import resolve_model
    from runtime.records import read_recording

    classifier = Classifier(resolve_model(model))
    if source == "-":
        if fs is None or leads is None:
            raise UsageError("streaming from stdin needs --fs and --leads")
        names = parse_lead_list(leads)
        rate = fs
        chunks = chunks_from_text(sys.stdin, len(names), max(1, int(round(hop_s * fs))))
    else:
        recording = read_recording(source, fs, leads)
        names, rate = recording.leads, recording.fs
        chunks = chunks_from_array(recording.signal, max(1, int(round(hop_s * rate))))

    def emit(result: dict[str, Any]) -> None:
        if as_json:
            click.echo(json.dumps(result))
        elif "error" in result:
            click.echo(f"t={result['t']:>8.2f}s  {result['error']}")
        else:
            click.echo(f"t={result['t']:>8.2f}s  {', '.join(result['detected']) or '-':<20} "
                       f"latency {result['latency_ms']:.2f} ms")  # fmt: skip
        sys.stdout.flush()

    summary = monitor(classifier, chunks, rate, tuple(names), hop_s, realtime=realtime, emit=emit)
    click.echo(json.dumps({"summary": summary}))


@main.command()
@click.argument("model", required=False, default=None)
def info(model: str | None) -> None:
    """What MODEL (a file or a shipped name) expects: classes, sampling rate, leads, window, thresholds.

    Without MODEL: the shipped models, with size, parameters and fold-10 AUC.
    """
    from runtime.card import read_card
    from runtime.onnx_io import load_model
    from runtime.pretrained import ATTRIBUTION, resolve_model, shipped_models

    if model is None:
        click.echo(json.dumps({"shipped": [m.summary() for m in shipped_models()], "attribution": ATTRIBUTION},
                              indent=2))  # fmt: skip
        return
    path = resolve_model(model)
    card = read_card(load_model(path), str(path))
    click.echo(json.dumps({"classes": card.classes, "fs": card.fs, "leads": card.leads, "window": card.window,
                           "thresholds": dict(zip(card.classes, card.thresholds, strict=True)),
                           "architecture": card.architecture.get("name"), "metrics": card.metrics}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
