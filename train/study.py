"""``train study``: the whole compression study in one command, with a report people read.

synthetic data (or ``--data`` PTB-XL) -> prepare -> teacher and student -> distilled student
-> pruned student -> int8 of each -> single-lead students -> width sweep -> benchmark ->
``report.md`` + PNG plots.  Every step is keyed by its inputs and parameters in
``study-state.json``: interrupt anywhere and rerun, finished steps are reused; ``--force``
redoes them.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from runtime.atomic import atomic_write_text
from runtime.errors import UsageError
from runtime.progress import log

STATE = "study-state.json"


@dataclass(frozen=True)
class StudyPreset:
    """Sizes of one study run (documented in the README with what they cost here)."""

    name: str
    records: int
    teacher_arch: str
    teacher_width: float
    teacher_epochs: int
    student_arch: str
    student_width: float
    student_epochs: int
    sweep_widths: tuple[float, ...]
    pruning_ratio: float
    finetune_epochs: int
    single_lead: str
    calib_samples: int
    bench_time_s: float
    bench_warmup_s: float
    bootstrap: int
    max_train: int | None = None
    crop: int = 0  # training windows (samples) for every training of the study; 0: whole records


PRESETS: dict[str, StudyPreset] = {
    # fits the README's 10-minute budget on 2 cores (install included)
    "quick": StudyPreset("quick", records=3000, teacher_arch="seed-teacher", teacher_width=0.5, teacher_epochs=4,
                         student_arch="sepresnet", student_width=0.5, student_epochs=6, sweep_widths=(0.25, 0.5, 1.0),
                         pruning_ratio=0.5, finetune_epochs=4, single_lead="II", calib_samples=256,
                         bench_time_s=1.5, bench_warmup_s=0.3, bootstrap=100),
    # the seed study's full-size networks on the default 20,000-record synthetic set (hours on 2 cores)
    "full": StudyPreset("full", records=20000, teacher_arch="seed-teacher", teacher_width=1.0, teacher_epochs=30,
                        student_arch="seed-student", student_width=1.0, student_epochs=30,
                        sweep_widths=(0.25, 0.5, 1.0, 2.0), pruning_ratio=0.5, finetune_epochs=10, single_lead="II",
                        calib_samples=512, bench_time_s=10.0, bench_warmup_s=2.0, bootstrap=1000),
    # real PTB-XL (pass --data): a 0.95M-parameter teacher and a 66K-parameter student trained on
    # random 2.5 s windows (the PTB-XL benchmark's crops: whole-record training overfits the teacher
    # after 5 epochs), under an hour on 2 cores; every training resumes after an interruption.
    "real": StudyPreset("real", records=0, teacher_arch="sepresnet", teacher_width=2.0, teacher_epochs=40,
                        student_arch="sepresnet", student_width=0.5, student_epochs=40,
                        sweep_widths=(0.25, 0.5, 1.0), pruning_ratio=0.5, finetune_epochs=10, single_lead="II",
                        calib_samples=512, bench_time_s=5.0, bench_warmup_s=1.0, bootstrap=1000, crop=250),
    # the test suite's smoke path
    "tiny": StudyPreset("tiny", records=260, teacher_arch="sepresnet", teacher_width=0.5, teacher_epochs=1,
                        student_arch="sepresnet", student_width=0.25, student_epochs=1, sweep_widths=(0.25,),
                        pruning_ratio=0.3, finetune_epochs=1, single_lead="II", calib_samples=32,
                        bench_time_s=0.2, bench_warmup_s=0.05, bootstrap=10),
}  # fmt: skip


def preset_by_name(name: str) -> StudyPreset:
    if name not in PRESETS:
        raise UsageError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    return PRESETS[name]


def _file_key(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


class StepCache:
    """Reuse a step when its key (inputs and parameters) is unchanged and its outputs exist."""

    def __init__(self, folder: Path, force: bool) -> None:
        self.path = folder / STATE
        self.force = force
        self.state: dict[str, Any] = json.loads(self.path.read_text()) if self.path.is_file() else {}

    def run(
        self, name: str, params: dict[str, Any], inputs: list[Path], outputs: list[Path], action: Callable[[], None]
    ) -> bool:
        """Run ``action`` unless reusable; return True if it ran."""
        key = hashlib.sha256(json.dumps({"params": params, "inputs": [_file_key(p) for p in inputs]},
                                        sort_keys=True, default=str).encode()).hexdigest()  # fmt: skip
        old = self.state.get(name)
        if (not self.force and old and old.get("key") == key and all(p.exists() for p in outputs)
                and old.get("outputs") == [_file_key(p) if p.is_file() else "dir" for p in outputs]):  # fmt: skip
            log(f"[study] {name}: unchanged, reusing")
            return False
        log(f"[study] {name}: running")
        started = time.perf_counter()
        action()
        self.state[name] = {"key": key, "outputs": [_file_key(p) if p.is_file() else "dir" for p in outputs],
                            "seconds": round(time.perf_counter() - started, 1)}  # fmt: skip
        atomic_write_text(self.path, json.dumps(self.state, indent=2) + "\n")
        return True


def run_study(
    out: Path,
    preset: StudyPreset,
    data: Path | None = None,
    seed: int = 0,
    force: bool = False,
    threads: int | None = None,
) -> Path:
    """Run every step into ``out``; return the report path."""
    from compress.distill import DistillConfig, distill
    from compress.prune import PruneConfig, prune
    from compress.quant_config import preset as quant_preset
    from compress.quantize import quantize_model
    from runtime.dataset.cache import open_dataset
    from runtime.dataset.cache import prepare as prepare_cache
    from runtime.leads import STANDARD_LEADS, parse_lead_list
    from train.fit import RunSpec, run_fit
    from train.loop import FitConfig
    from train.sweep import run_sweep
    from train.synth.generate import write_dataset

    if preset.records == 0 and data is None:
        raise UsageError(f"preset {preset.name!r} trains on real data; pass --data PTBXL_DIR (or its prepared cache)")
    out.mkdir(parents=True, exist_ok=True)
    cache = StepCache(out, force)
    models = out / "models"
    models.mkdir(exist_ok=True)
    if data is None:
        synth_dir, cache_dir = out / "data" / "synthetic-ptbxl", out / "data" / "cache"
        cache.run("synthesize", {"records": preset.records, "seed": seed}, [], [synth_dir / "ptbxl_database.csv"],
                  lambda: write_dataset(synth_dir, records=preset.records, seed=seed, force=True))  # fmt: skip
        cache.run("prepare", {"fs": 100}, [synth_dir / "ptbxl_database.csv"], [cache_dir / "manifest.json"],
                  lambda: prepare_cache(synth_dir, cache_dir, force=True))  # fmt: skip
        dataset_path = cache_dir
    else:
        dataset_path = open_dataset(data).path
    manifest = dataset_path / "manifest.json"

    training = {"crop": preset.crop} if preset.crop else {}  # part of every training step's key

    def fit_config(epochs: int) -> FitConfig:
        return FitConfig(epochs=epochs, seed=seed, threads=threads, patience=max(3, epochs // 3), crop=preset.crop)

    paths = {
        "teacher": models / "teacher" / "model.onnx",
        "student-alone": models / "student-alone" / "model.onnx",
        "student-kd": models / "student-kd.onnx",
        "student-kd-pruned": models / "student-kd-pruned.onnx",
        "lead-alone": models / f"lead-{preset.single_lead}-alone" / "model.onnx",
        "lead-kd": models / f"lead-{preset.single_lead}-kd.onnx",
    }
    teacher_spec = RunSpec(preset.teacher_arch, preset.teacher_width, STANDARD_LEADS, preset.max_train)
    student_spec = RunSpec(preset.student_arch, preset.student_width, STANDARD_LEADS, preset.max_train)
    lead_spec = RunSpec(
        preset.student_arch, preset.student_width, parse_lead_list(preset.single_lead), preset.max_train
    )
    cache.run("teacher", {**asdict(teacher_spec), **training, "epochs": preset.teacher_epochs, "seed": seed}, [manifest],
              [paths["teacher"]], lambda: run_fit(dataset_path, teacher_spec, paths["teacher"].parent,
                                                  fit_config(preset.teacher_epochs), force=True,
                                                  resume="auto"))  # fmt: skip
    cache.run("student-alone", {**asdict(student_spec), **training, "epochs": preset.student_epochs, "seed": seed}, [manifest],
              [paths["student-alone"]], lambda: run_fit(dataset_path, student_spec, paths["student-alone"].parent,
                                                        fit_config(preset.student_epochs), force=True,
                                                        resume="auto"))  # fmt: skip
    kd = DistillConfig()
    cache.run("student-kd", {**asdict(student_spec), **asdict(kd), **training, "epochs": preset.student_epochs},
              [manifest, paths["teacher"]], [paths["student-kd"]],
              lambda: distill(paths["teacher"], student_spec, paths["student-kd"], fit_config(preset.student_epochs),
                              kd, data=dataset_path, force=True, resume="auto"))  # fmt: skip
    prune_config = PruneConfig(pruning_ratio=preset.pruning_ratio, finetune_epochs=preset.finetune_epochs)
    cache.run("prune", {**asdict(prune_config), **training}, [manifest, paths["student-kd"]], [paths["student-kd-pruned"]],
              lambda: prune(paths["student-kd"], paths["student-kd-pruned"], prune_config,
                            fit_config(preset.finetune_epochs), dataset_path, force=True,
                            max_train=preset.max_train))  # fmt: skip
    cache.run("lead-alone", {**asdict(lead_spec), **training, "epochs": preset.student_epochs}, [manifest], [paths["lead-alone"]],
              lambda: run_fit(dataset_path, lead_spec, paths["lead-alone"].parent, fit_config(preset.student_epochs),
                              force=True, resume="auto"))  # fmt: skip
    cache.run("lead-kd", {**asdict(lead_spec), **asdict(kd), **training, "epochs": preset.student_epochs},
              [manifest, paths["teacher"]], [paths["lead-kd"]],
              lambda: distill(paths["teacher"], lead_spec, paths["lead-kd"], fit_config(preset.student_epochs), kd,
                              data=dataset_path, force=True, resume="auto"))  # fmt: skip
    quant = quant_preset("auto").with_changes(calib_samples=preset.calib_samples, seed=seed)
    for name in ("teacher", "student-alone", "student-kd", "student-kd-pruned"):
        source = paths[name]
        target = (
            source.with_name(source.stem + ".int8.onnx")
            if source.name != "model.onnx"
            else source.with_name("model.int8.onnx")
        )
        paths[f"{name}-int8"] = target
        cache.run(f"quantize {name}", quant.to_dict(), [manifest, source], [target],
                  lambda source=source, target=target: quantize_model(source, target, dataset_path, quant))  # fmt: skip
    sweep_dir = out / "sweep"
    sweep_rows: list[dict[str, Any]] = []

    def sweep() -> None:
        sweep_rows.extend(run_sweep(dataset_path, preset.student_arch, list(preset.sweep_widths), sweep_dir,
                                    fit_config(preset.student_epochs), max_train=preset.max_train, force=True,
                                    existing={preset.student_width: paths["student-alone"].parent}))  # fmt: skip

    cache.run("sweep", {"arch": preset.student_arch, **training, "widths": preset.sweep_widths, "epochs": preset.student_epochs},
              [manifest, paths["student-alone"]], [sweep_dir / "sweep.csv"], sweep)  # fmt: skip
    benchmark_json = out / "benchmark.json"
    order = ["teacher", "teacher-int8", "student-alone", "student-alone-int8", "student-kd", "student-kd-int8",
             "student-kd-pruned", "student-kd-pruned-int8", "lead-alone", "lead-kd"]  # fmt: skip
    cache.run("benchmark", {"time_s": preset.bench_time_s, "bootstrap": preset.bootstrap},
              [paths[name] for name in order], [benchmark_json],
              lambda: _benchmark(paths, order, dataset_path, preset, out))  # fmt: skip
    from train.study_report import write_report

    step_seconds = sum(step.get("seconds", 0.0) for step in cache.state.values())
    report = write_report(out, paths, order, preset, dataset_path, step_seconds)
    return report


def _benchmark(paths: dict[str, Path], order: list[str], data: Path, preset: StudyPreset, out: Path) -> None:
    from benchmark.harness import BenchmarkConfig, run_benchmark
    from benchmark.report import write_outputs

    config = BenchmarkConfig(warmup_s=preset.bench_warmup_s, time_s=preset.bench_time_s, bootstrap=preset.bootstrap)
    result = run_benchmark([paths[name] for name in order], data, config, baseline=paths["teacher"])
    write_outputs(result, out / "benchmark.json", out / "benchmark.csv", out / "benchmark.md", out / "plots")
