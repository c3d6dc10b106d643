"""The sim-to-real diagnostic tools (tools/feature_discriminator.py, tools/qrs_high_band.py) on arrays with known answers."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path
from types import ModuleType

import numpy as np

TOOLS = Path(__file__).resolve().parents[1] / "tools"


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, TOOLS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_feature_discriminator_names_the_statistic_that_differs() -> None:
    rng = np.random.default_rng(0)
    real = rng.normal(0.0, 0.1, size=(80, 2, 200))
    synthetic = rng.normal(0.0, 0.1, size=(80, 2, 200)) + 0.05  # only the record mean differs
    table = _tool("feature_discriminator").group_aucs(real, synthetic, 100.0, seed=0, rounds=20)
    assert table["record mean"] > 0.95 and table["all groups together"] > 0.95
    assert table["log power 15-30 Hz"] < 0.7 and table["log RMS"] < 0.7


def test_qrs_band_power_counts_only_what_lies_inside_the_qrs_windows() -> None:
    fs = 100.0
    t = np.arange(1000) / fs
    r_times = np.array([1.0, 2.0, 3.0])
    near = np.min(np.abs(t[:, None] - r_times[None]), axis=1) < 0.05
    tone = np.sin(2 * np.pi * 35 * t)
    measure = _tool("qrs_high_band").qrs_band_power
    inside = measure(np.stack([tone * near]), r_times, fs)[0]
    outside = measure(np.stack([tone * (np.min(np.abs(t[:, None] - r_times[None]), axis=1) > 0.3)]), r_times, fs)[0]
    assert inside > 1e4 and outside < 0.02 * inside


def test_pretraining_curves_pick_each_arms_recipe_and_plot(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    def run(name: str, val: float, test: float, width: float = 2.0, alpha: float | None = None) -> None:
        folder = tmp_path / name
        folder.mkdir()
        summary: dict[str, object] = {"val_macro_auc": val, "test_macro_auc": test, "arch": "sepresnet", "width": width}
        if name.endswith("-interp"):
            summary["training"] = {"interpolation": {"alpha": alpha}}
        if "-soup-" in name:
            summary["training"] = {"soup": {"members": ["a", "b", "start (model.onnx)"]}}
        (folder / "run.json").write_text(json.dumps(summary))
        rows = [{"epoch": e, "val_macro_auc": val - 0.01 * (2 - e)} for e in range(3)]
        if "-soup-" not in name:  # a soup trains nothing: no metrics.jsonl
            (folder / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")

    for seed in (0, 1):
        run(f"n1000-s{seed}-real", 0.88, 0.87)
        run(f"n1000-lr0.01-s{seed}-real", 0.89, 0.875)  # the real arm's better rate
        run(f"n1000-s{seed}-init", 0.90, 0.89)
        run(f"n1000-lr0.01-s{seed}-init", 0.85, 0.84)
        run(f"n1000-e8-lr0.003-s{seed}-init-interp", 0.905, 0.895, alpha=0.7 if seed else None)  # the best of init
        run(f"n1000-e8-lr0.01-s{seed}-real", 0.86, 0.85)
    run("n1000-lr0.03-s0-real", 0.95, 0.95)  # one seed only: not comparable with the two-seed means, never chosen
    out = tmp_path / "curves.png"
    tool = [sys.executable, str(TOOLS / "pretraining_curves.py"), str(tmp_path)]
    done = subprocess.run([*tool, "--plot", str(out), "--json"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["1000-real"] == {"lr": "0.01", "epochs": 30, "interpolated": False,
                                    "test_macro_auc": {"0": 0.875, "1": 0.875}}  # fmt: skip
    assert figures["1000-init"]["lr"] == "0.003" and figures["1000-init"]["epochs"] == 8
    assert figures["1000-init"]["interpolated"] is True
    assert out.read_bytes().startswith(b"\x89PNG")
    assert (
        _tool("pretraining_curves").network(_tool("pretraining_curves").collect(tmp_path), tmp_path) == "sepresnet w2"
    )
    # the table: each arm at its recipe (and an interpolated run's alpha), the difference on the test
    # fold; a rate or epoch filter changes the choice
    rows = subprocess.run(tool, capture_output=True, text=True, check=True).stdout.splitlines()
    assert (
        "| 1,000 | 0 | (0.01) 0.8900 / 0.8750 | (0.003, 8 ep, interpolated alpha 1) 0.9050 / 0.8950 | +2.00 pt |"
        in rows
    )
    assert (
        "| 1,000 | 1 | (0.01) 0.8900 / 0.8750 | (0.003, 8 ep, interpolated alpha 0.7) 0.9050 / 0.8950 | +2.00 pt |"
        in rows
    )
    assert "| 1,000 | mean of 2 | 0.8900 / 0.8750 | 0.9050 / 0.8950 | **+2.00 pt** |" in rows
    only_default = subprocess.run([*tool, "--lrs", "0.001"], capture_output=True, text=True, check=True).stdout
    assert "| 1,000 | 0 | (0.001) 0.8800 / 0.8700 | (0.001) 0.9000 / 0.8900 | +2.00 pt |" in only_default
    whole = subprocess.run([*tool, "--epochs", "30"], capture_output=True, text=True, check=True).stdout
    assert "| 1,000 | 0 | (0.01) 0.8900 / 0.8750 | (0.001) 0.9000 / 0.8900 | +1.50 pt |" in whole
    # greedy soups (SOUP=1) are one more recipe per arm, chosen on fold 9 like the others; --no-soups leaves them out
    for seed in (0, 1):
        run(f"n1000-soup-s{seed}-init", 0.91, 0.90)
        run(f"n1000-soup-s{seed}-real", 0.885, 0.99)  # below the real arm's best rate on fold 9: not chosen
    souped = subprocess.run(tool, capture_output=True, text=True, check=True).stdout
    assert (
        "| 1,000 | 0 | (0.01) 0.8900 / 0.8750 | (greedy soup of 2 runs, start included) 0.9100 / 0.9000 | +2.50 pt |"
        in souped
    )
    assert "greedy soup 0.9100" in souped and "greedy soup 0.8850" in souped
    assert subprocess.run([*tool, "--plot", str(out)], capture_output=True, text=True, check=False).returncode == 0
    unsouped = subprocess.run([*tool, "--no-soups"], capture_output=True, text=True, check=True).stdout
    assert "soup" not in unsouped and "(0.003, 8 ep, interpolated alpha 1)" in unsouped
    # a run of another width in the same folder: refused, not compared
    run("n1000-lr0.003-s0-init", 0.95, 0.94, width=1.0)
    mixed = subprocess.run(tool, capture_output=True, text=True, check=False)
    assert mixed.returncode != 0 and "several networks (sepresnet w1, sepresnet w2)" in mixed.stderr


def test_pretraining_curves_bootstrap_the_mean_difference_from_the_models(
    float_model: Path, int8_model: Path, synth_cache, tmp_path: Path
) -> None:
    import json
    import shutil
    import subprocess
    import sys

    from runtime.evaluate import split_scores
    from runtime.metrics import macro_auc
    from runtime.session import make_session

    figures = {}
    for kind, model in (("init", float_model), ("real", int8_model)):
        labels, scores = split_scores(make_session(model), synth_cache, "test", list(synth_cache.leads))
        figures[kind] = macro_auc(labels, scores)
        for seed in (0, 1):
            folder = tmp_path / f"n1000-s{seed}-{kind}"
            folder.mkdir()
            shutil.copyfile(model, folder / "model.onnx")
            summary = {"val_macro_auc": 0.9, "test_macro_auc": figures[kind], "arch": "sepresnet", "width": 0.5}
            (folder / "run.json").write_text(json.dumps(summary))
    tool = [sys.executable, str(TOOLS / "pretraining_curves.py"), str(tmp_path)]
    done = subprocess.run([*tool, "--json", "--bootstrap", "40", "--data", str(synth_cache.path)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    interval = json.loads(done.stdout)["1000-difference-interval"]
    assert interval["low"] <= figures["init"] - figures["real"] <= interval["high"] and interval["rounds"] == 40
    table = subprocess.run([*tool, "--bootstrap", "40", "--data", str(synth_cache.path)],
                           capture_output=True, text=True, check=True).stdout  # fmt: skip
    assert "1,000 records: 90% interval of the mean test difference" in table
    # a model that does not give its run.json's figure (another cache, or written over) is refused
    stale = tmp_path / "n1000-s1-real" / "run.json"
    stale.write_text(json.dumps({**json.loads(stale.read_text()), "test_macro_auc": 0.5}))
    refused = subprocess.run([*tool, "--bootstrap", "40", "--data", str(synth_cache.path)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    assert refused.returncode != 0 and "run.json says 0.5000" in refused.stderr
    alone = subprocess.run([*tool, "--bootstrap", "40"], capture_output=True, text=True, check=False)
    assert alone.returncode == 2 and "go together" in alone.stderr


def test_repeated_samples_are_found_where_the_lead_holds_still() -> None:
    fs = 100.0
    rng = np.random.default_rng(0)
    lead = np.round(rng.normal(0.0, 0.05, size=1000), 3)  # noisy, in 1 uV steps
    peaks = np.array([100, 300, 500, 700, 900])
    for here, following in itertools.pairwise(peaks):
        lead[here + int(0.6 * (following - here)) : following - 25 + 1] = 0.012  # a still TP segment
    shares = _tool("repeated_samples").segment_shares(lead, peaks, fs)
    assert shares["TP segment"] == 1.0 and shares["QRS to T"] < 0.05
    assert shares["QRS to T"] < shares["whole record"] < shares["TP segment"]
    changes = _tool("repeated_samples").segment_changes(lead, peaks, fs)
    assert changes["TP segment"] == 0.0 and 40.0 < changes["QRS to T"] < 60.0  # N(0, 50 uV) steps: median |d| ~ 48


def test_lattice_table_tells_a_signal_held_on_5_uv_steps_from_a_smooth_one() -> None:
    """A slow random walk stored to the microvolt moves by +1 uV about as often as it repeats; the
    same walk sampled in 5 uV steps repeats far more often and sits on multiples of 5 uV."""
    rng = np.random.default_rng(0)
    walk = np.cumsum(rng.normal(0.0, 3.0, size=(50, 1, 1000)), axis=-1) / 1000.0  # mV, ~3 uV per sample
    stepped = np.round(walk / 0.005) * 0.005
    smooth, held = (_tool("repeated_samples").lattice_row(x)[0] for x in (walk, stepped))
    assert 0.7 < smooth.repeats_over_ones < 1.3 and abs(smooth.on_lattice - 0.2) < 0.02, smooth
    assert held.repeats_over_ones > 5.0 and held.on_lattice > 0.99, held


def test_hybrid_records_keep_the_leads_relations_and_the_stored_steps(synth_cache) -> None:
    """Records remade from their own median beats (tools/discriminator_sides.py) are 12-lead records
    stored to the microvolt, with Einthoven's and Goldberger's relations and their lead means kept."""
    from train.synth.fidelity import training_records
    from train.synth.fitted import packaged_model, packaged_noise

    signals, _ = training_records(synth_cache, 12, 0)
    leads = tuple(synth_cache.leads)
    made = _tool("discriminator_sides").hybrid_records(signals.astype(np.float64), leads, int(synth_cache.fs),
                                                       packaged_model(), packaged_noise(), np.random.default_rng(0))  # fmt: skip
    assert made.shape[0] > 0 and made.shape[1:] == signals.shape[1:]
    assert np.allclose(made * 1000.0, np.round(made * 1000.0), atol=1e-3)
    lead = {name: made[:, i] for i, name in enumerate(leads)}
    assert np.abs(lead["III"] - (lead["II"] - lead["I"])).max() < 2e-3
    assert np.abs(lead["aVF"] - (lead["II"] + lead["III"]) / 2).max() < 2e-3
    # the remade records differ from the originals (new variation and noise), not in their lead means
    assert len(made) == len(signals)
    assert np.abs(made - signals).mean() > 1e-3
    assert np.abs(made.mean(axis=-1) - signals.mean(axis=-1)).max() < 2e-3


def test_discriminator_finds_a_difference_and_not_one_that_is_absent() -> None:
    """The report's discriminator (early-stopped, best-validating of its runs): near 1 for records
    that differ in a sharp bump, near 0.5 for two samples of the same noise."""
    from train.synth.fidelity import discriminator_runs

    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 0.1, size=(240, 2, 200)).astype(np.float32)
    bumped = noise[120:].copy()
    bumped[:, :, 100:104] += 1.0
    found, _ = discriminator_runs(noise[:120], bumped, seed=0, runs=1, max_epochs=6)
    absent, _ = discriminator_runs(noise[:120], noise[120:], seed=0, runs=1, max_epochs=6)
    assert found > 0.95 and abs(absent - 0.5) < 0.2


def test_discriminator_cues_find_the_lead_and_phase_that_hold_the_difference() -> None:
    """Synthetic records that differ from real ones only by a bump in the second lead, in the ST-T part
    of the cycle: taking that lead or that phase away brings the held-out AUC to chance, taking the
    other lead or another phase as long away does not."""
    from runtime.metrics import roc_auc
    from train.synth.fidelity import train_discriminator

    tool = _tool("discriminator_cues")
    rng = np.random.default_rng(0)
    noise = rng.normal(0.0, 0.1, size=(240, 2, 200)).astype(np.float32)
    bumped = noise[120:].copy()
    bumped[:, 1, 100:104] += 1.0
    trained = train_discriminator(noise[:120], bumped, seed=0, max_epochs=6)
    bins = np.full((240, 200), 16)  # the P wave and PR segment, but the ST-T around the bump and a TP elsewhere
    bins[:, 94:110], bins[:, 20:36] = 5, 12
    named, held = tool.probes(["A", "B"], 100.0), trained.held
    auc = {name: roc_auc(trained.y[held], trained.scores(probe(trained.x[held], bins[held])))
           for name, probe in named.items()}  # fmt: skip
    assert auc["nothing taken away"] > 0.95 and auc["without A"] > 0.95 and auc["only B"] > 0.95, auc
    assert abs(auc["without B"] - 0.5) < 0.15 and abs(auc["without ST-T"] - 0.5) < 0.15, auc
    assert auc["without TP"] > 0.9, auc


def test_sinus_rhythm_holds_still_in_some_records_and_sways_with_breathing_in_others() -> None:
    """The fitted sinus rhythm spans real records' range: some beat as regularly as real PTB-XL's most
    regular tenth (RMSSD under 10 ms; version 2's rhythm never went below about 15 ms), some vary
    with breathing by several per cent, and successive RR intervals go together (breathing and the
    slow wave, not jitter alone, set the rhythm). Seeded: the same draw twice."""
    from train.synth.fitted import sinus_times

    tool = _tool("rhythm_statistics")
    drawn = [sinus_times(np.random.default_rng(seed), 72.0, 10.0)[0] for seed in range(400)]
    figures = tool.rhythm_figures([times[(times > 0.0) & (times < 10.0)] for times in drawn])
    rmssd, sdnn, lag1 = figures["RMSSD, ms"], figures["SDNN, ms"], figures["lag-1 autocorrelation"]
    assert np.quantile(rmssd, 0.1) < 10.0 and np.quantile(sdnn, 0.9) > 30.0, (rmssd, sdnn)
    assert np.median(lag1) > 0.2, lag1
    again = sinus_times(np.random.default_rng(3), 72.0, 10.0)[0]
    assert np.array_equal(again, drawn[3])
    regular = tool.rhythm_figures([np.arange(0.0, 10.0, 0.8)])
    assert regular["SDNN, ms"][0] < 1e-6 and regular["RMSSD, ms"][0] < 1e-6


def test_high_band_by_phase_finds_where_in_the_cycle_the_band_is_loud() -> None:
    """A 30 Hz tone in the first half of every RR interval, a 5 Hz one in the second: the profile is
    loud in the first half and quiet in the second (the slow tone lies outside the band)."""
    from train.synth.noise_model import CYCLE_BINS

    fs, rr = 100.0, 1.0
    t = np.arange(1000) / fs
    r_times = np.arange(0.5, 10.0, rr)
    since = np.mod(t - r_times[0], rr)
    qrs = sum(np.exp(-0.5 * ((t - r) / 0.015) ** 2) for r in r_times)
    tones = np.where(since < rr / 2, 0.02 * np.sin(2 * np.pi * 30 * t), 0.02 * np.sin(2 * np.pi * 5 * t))
    records = np.stack([np.stack([0.5 * qrs + tones, qrs + tones])] * 4)
    profile = _tool("high_band_by_phase").high_band_profile(records, ["I", "II"], fs)
    assert profile.shape == (2, CYCLE_BINS)
    first, second = profile[:, 3:8].mean(axis=1), profile[:, 12:17].mean(axis=1)
    assert np.all(first > 10.0) and np.all(second < 0.2 * first), profile


def test_repolarization_stretch_finds_the_rule_a_record_follows() -> None:
    """Records whose T wave comes earlier after a short preceding RR (Bazett) leave the least residual
    laid with that rule; records whose T wave keeps its place, laid with none.  Irregular rhythm,
    a QRS and a T wave in every independent lead, a little noise."""
    from train.synth.beat_model import found_rrs, lay_beats
    from train.synth.cardiac import leads_from_electrodes
    from train.synth.fidelity import BEAT_WINDOW_S
    from train.synth.fitted import electrodes_from_leads
    from train.synth.generate import PTBXL_LEAD_NAMES

    tool = _tool("repolarization_stretch")
    fs, rng = 100, np.random.default_rng(0)
    grid = BEAT_WINDOW_S[0] + np.arange(int(round((BEAT_WINDOW_S[1] - BEAT_WINDOW_S[0]) * fs))) / fs
    shape = np.exp(-0.5 * (grid / 0.015) ** 2) + 0.4 * np.exp(-0.5 * ((grid - 0.3) / 0.05) ** 2)
    beat = np.stack([shape * scale for scale in np.linspace(0.5, 1.2, 8)])
    records = {"preceding RR": [], "none": []}
    for _ in range(12):
        times = np.cumsum(rng.uniform(0.55, 1.25, size=14)) + 0.3
        times = times[times < 9.6]
        rrs = found_rrs(times)
        for name, records_of_rule in records.items():
            stretches = tool.RULES[name](rrs, float(np.median(np.diff(times))))
            eight = lay_beats(beat, BEAT_WINDOW_S, fs, times, rrs, np.ones((len(times), 8)), 10 * fs, fs,
                              stretches=stretches)  # fmt: skip
            records_of_rule.append(
                leads_from_electrodes(electrodes_from_leads(eight)) + rng.normal(0, 0.005, (12, 1000))
            )
    for name, signals in records.items():
        _, powers = tool.residual_powers(np.stack(signals), PTBXL_LEAD_NAMES, fs)
        best = min(powers, key=lambda rule: float(np.median(powers[rule])))
        assert best == name, (name, {rule: float(np.median(values)) for rule, values in powers.items()})


def test_beat_to_beat_measures_what_does_not_repeat_where_it_lies() -> None:
    """Beats that repeat exactly leave next to nothing; a wobble added to every beat's ST-T alone shows in the
    ST-T, in proportion to its size, and hardly in the P-PR."""
    from train.synth.generate import PTBXL_LEAD_NAMES

    tool = _tool("beat_to_beat")
    fs, rng = 100.0, np.random.default_rng(0)
    t = np.arange(1000) / fs
    r_times = np.arange(0.5, 9.6, 0.8)
    spike = sum(np.exp(-0.5 * ((t - r) / 0.012) ** 2) for r in r_times)
    after = [(t > r + 0.1) & (t < r + 0.4) for r in r_times]
    wobble = sum(
        np.where(mask, np.sin(2 * np.pi * 4 * (t - r)), 0.0) * rng.normal()
        for r, mask in zip(r_times, after, strict=True)
    )
    clean = np.tile(spike, (4, 12, 1))
    quiet = tool.beat_deviations(clean, list(PTBXL_LEAD_NAMES), fs, (0.5, 15.0))
    loud = tool.beat_deviations(clean + 0.05 * wobble, list(PTBXL_LEAD_NAMES), fs, (0.5, 15.0))
    louder = tool.beat_deviations(clean + 0.1 * wobble, list(PTBXL_LEAD_NAMES), fs, (0.5, 15.0))
    assert quiet["ST-T"].max() < 1e-3 and quiet["QRS"].shape == (4, 12)  # under 1 uV
    assert np.median(loud["ST-T"]) > 5 * np.median(loud["P-PR"]) + 1e-4
    assert np.allclose(louder["ST-T"], 2 * loud["ST-T"], rtol=0.05)
