"""The step protocol: every pipeline step is typed settings plus one ``run(inputs) -> output``.

A :class:`Step` names the settings classes it takes (declared once with ``runtime.settings``),
the other steps' outputs it reads (``teacher``, ``model``, ``models``, ...), and its runner.
From that one table come the recipe keys of each step (``compress run``), their checks, and the
options of ``compress distill``/``prune``/``quantize`` (``compress.cli`` derives them from here).
Heavy modules (torch) are imported inside the runners, so importing this table is cheap.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from compress.configs import DistillConfig, PruneConfig
from compress.quant_config import AccuracyGate, QuantizationConfig
from runtime.errors import UsageError
from runtime.settings import declared_fields, from_mapping, keys, setting
from train.config import FitConfig, RunSpec, SweepConfig


@dataclass(frozen=True)
class ReportConfig:
    """What the study report compares."""

    title: str = setting("ECG compression study", "Heading of report.md.")
    bootstrap: int = setting(1000, "Paired bootstrap rounds of the AUC differences.", minimum=0)
    max_combined_drop_pt: float = setting(1.0, "Target: the combined model within this many AUC points of the teacher.",
                                          minimum=0)  # fmt: skip
    max_int8_drop_pt: float = setting(0.2, "Target: each int8 model within this many AUC points of its fp32 parent.",
                                      minimum=0)  # fmt: skip
    real_targets: bool = setting(False, "Also check the real-PTB-XL targets (teacher, student, bytes, single lead).")


@dataclass
class StepRun:
    """What a runner gets: its settings by class, the paths of the steps it reads, where to write."""

    settings: dict[type, Any]
    inputs: dict[str, Any]  # slot -> Path, or list[Path] for list slots
    output: Path
    data: Path
    folder: Path  # the recipe's output folder
    names: dict[Path, str] = field(default_factory=dict)  # model path -> step name (labels)

    def get(self, config: type) -> Any:
        return self.settings[config]


@dataclass(frozen=True)
class Step:
    """One kind of pipeline step."""

    kind: str
    help: str
    configs: tuple[type, ...]
    run: Callable[[StepRun], None]
    inputs: tuple[str, ...] = ()  # slots naming another step's output
    list_inputs: tuple[str, ...] = ()  # slots naming several steps
    exclude: tuple[str, ...] = ()  # fields of ``configs`` this step does not take
    suffix: str = ".onnx"  # what the step writes: a model file, a folder ("") or a file type

    def recipe_keys(self) -> list[str]:
        """Recipe keys: the settings of its configs, then its input slots."""
        return [k for k in keys(*self.configs) if k not in self.exclude] + list(self.inputs + self.list_inputs)

    def settings_from(self, table: dict[str, Any], where: str) -> dict[type, Any]:
        """Typed settings from a recipe table (already checked for unknown keys)."""
        built = {}
        for config in self.configs:
            infos = declared_fields(config)
            names = {info.name for info in infos} - set(self.exclude)
            unused = {info.name: None for info in infos if info.required and info.name in self.exclude}
            built[config] = from_mapping(config, {k: v for k, v in table.items() if k in names}, where, unused)
        return built

    def produces_model(self) -> bool:
        return self.suffix == ".onnx"


def _fit(run: StepRun) -> None:
    from train.fit import run_fit

    run_dir = run.output.with_name(run.output.name + ".run")
    run_fit(run.data, run.get(RunSpec), run_dir, run.get(FitConfig), force=True, resume="auto", out_file=run.output,
            init_from=run.inputs.get("init"))  # fmt: skip


def _distill(run: StepRun) -> None:
    from dataclasses import replace

    from compress.distill import distill, teacher_leads
    from runtime.leads import STANDARD_LEADS

    spec: RunSpec = run.get(RunSpec)
    if spec.leads == STANDARD_LEADS:  # no 'leads' in the recipe: the teacher's
        spec = replace(spec, leads=teacher_leads(run.inputs["teacher"]))
    distill(run.inputs["teacher"], spec, run.output, run.get(FitConfig), run.get(DistillConfig), data=run.data,
            force=True, resume="auto")  # fmt: skip


def _prune(run: StepRun) -> None:
    from compress.prune import prune

    prune(run.inputs["model"], run.output, run.get(PruneConfig), run.get(FitConfig), run.data, force=True,
          max_train=run.get(RunSpec).max_train, kd=run.get(DistillConfig))  # fmt: skip


def _quantize(run: StepRun) -> None:
    from compress.quantize import quantize_model

    quantize_model(run.inputs["model"], run.output, run.data, run.get(QuantizationConfig),
                   max_auc_drop=run.get(AccuracyGate).max_auc_drop)  # fmt: skip


def _sweep(run: StepRun) -> None:
    from runtime.card import read_card
    from runtime.onnx_io import load_model
    from train.sweep import run_sweep

    sweep: SweepConfig = run.get(SweepConfig)
    spec: RunSpec = run.get(RunSpec)
    existing = {}
    for path in run.inputs.get("reuse", []):
        card = read_card(load_model(path))
        if card.architecture.get("name") == spec.arch:
            existing[float(card.architecture.get("width", 1.0))] = path.with_name(path.name + ".run")
    run_sweep(run.data, spec.arch, list(sweep.widths), run.output, run.get(FitConfig), max_train=spec.max_train,
              force=True, existing=existing)  # fmt: skip


def _benchmark(run: StepRun) -> None:
    from benchmark.harness import BenchmarkConfig, run_benchmark
    from benchmark.report import write_outputs

    models: list[Path] = run.inputs["models"]
    baseline = run.inputs.get("baseline")
    result = run_benchmark(models, run.data, run.get(BenchmarkConfig), baseline=baseline)
    stem = run.output.with_suffix("")
    write_outputs(result, run.output, stem.with_suffix(".csv"), stem.with_suffix(".md"), run.folder / "plots")


def _report(run: StepRun) -> None:
    from compress.study_report import write_report

    write_report(run.inputs["benchmark"], run.output, run.data, run.get(ReportConfig), run.names,
                 sweep=run.inputs.get("sweep"))  # fmt: skip


def _benchmark_config() -> type:
    from benchmark.harness import BenchmarkConfig

    return BenchmarkConfig


STEPS: dict[str, Step] = {
    step.kind: step
    for step in (
        Step("fit", "Train a network (from scratch, or from 'init': a model of the same architecture).",
             (RunSpec, FitConfig), _fit, inputs=("init",)),
        Step("distill", "Train a student from a teacher's soft targets.", (RunSpec, FitConfig, DistillConfig),
             _distill, inputs=("teacher",)),
        Step("prune", "Remove channels, then fine-tune with the unpruned model as teacher.",
             (PruneConfig, DistillConfig, FitConfig, RunSpec), _prune, inputs=("model",),
             exclude=("epochs", "arch", "width", "leads")),
        Step("quantize", "Static int8 (QDQ), verified on the validation split.", (QuantizationConfig, AccuracyGate),
             _quantize, inputs=("model",)),
        Step("sweep", "Train several widths of one architecture.", (SweepConfig, FitConfig, RunSpec), _sweep,
             list_inputs=("reuse",), exclude=("width", "leads"), suffix=""),
        Step("benchmark", "Size, MACs, latency and AUC of models, side by side.", (_benchmark_config(),), _benchmark,
             inputs=("baseline",), list_inputs=("models",), suffix=".json"),
        Step("report", "report.md with targets, paired intervals and plots.", (ReportConfig,), _report,
             inputs=("benchmark", "sweep"), suffix=".md"),
    )
}  # fmt: skip


def step(kind: Any, where: str) -> Step:
    """The step named ``kind``; the error lists the kinds."""
    if kind not in STEPS:
        raise UsageError(f"{where} has unknown step {kind!r}; use one of {', '.join(STEPS)}")
    return STEPS[kind]
