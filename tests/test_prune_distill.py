"""compress prune / distill / run: real shrinking, lineage, reduced-lead students, recipes, bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from runtime.card import read_card
from runtime.graph_stats import graph_summary
from runtime.session import make_session
from tests.helpers import assert_one_line_error, run_cli

FAST = ("--epochs", "1", "--threads", "1")


def _stats(path: Path) -> dict:
    card = read_card(onnx.load(path))
    return {**graph_summary(onnx.load(path), [1, len(card.leads), card.window]), "bytes": path.stat().st_size}


def test_prune_really_removes_channels(float_model: Path, tmp_path: Path) -> None:
    target = tmp_path / "pruned.onnx"
    result = run_cli("compress", "prune", str(float_model), "--pruning-ratio", "0.5", "--finetune-epochs", "1",
                     "--threads", "1", "-o", str(target))  # fmt: skip
    assert result.returncode == 0, result.stderr
    before, after = _stats(float_model), _stats(target)
    assert after["parameters"] < 0.6 * before["parameters"]
    assert after["macs"] < 0.6 * before["macs"]
    assert after["bytes"] < 0.7 * before["bytes"]
    card = read_card(onnx.load(target))
    assert card.lineage[-1]["step"] == "prune" and card.lineage[-1]["parameters"]["pruning_ratio"] == 0.5
    assert card.architecture["channels"] != read_card(onnx.load(float_model)).architecture["channels"]
    x = np.zeros((2, 12, 1000), np.float32)
    assert make_session(target).run(["probabilities"], {"ecg": x})[0].shape == (2, 5)


def test_distill_records_the_teacher(float_model: Path, tmp_path: Path) -> None:
    target = tmp_path / "student.onnx"
    result = run_cli("compress", "distill", "--teacher", str(float_model), "--arch", "sepresnet", "--width", "0.25",
                     "-o", str(target), *FAST)  # fmt: skip
    assert result.returncode == 0, result.stderr
    card = read_card(onnx.load(target))
    step = card.lineage[-1]
    assert step["step"] == "distill" and step["parameters"]["temperature"] == 4.0
    assert step["parent_sha256"] == __import__("hashlib").sha256(float_model.read_bytes()).hexdigest()


def test_strided_student_distills_and_prunes(float_model: Path, tmp_path: Path) -> None:
    student, pruned = tmp_path / "strided.onnx", tmp_path / "strided-pruned.onnx"
    result = run_cli("compress", "distill", "--teacher", str(float_model), "--arch", "strided-cnn", "--width", "0.5",
                     "-o", str(student), *FAST)  # fmt: skip
    assert result.returncode == 0, result.stderr
    result = run_cli("compress", "prune", str(student), "--pruning-ratio", "0.5", "--finetune-epochs", "1",
                     "--threads", "1", "-o", str(pruned))  # fmt: skip
    assert result.returncode == 0, result.stderr
    before, after = _stats(student), _stats(pruned)
    assert after["macs"] < 0.45 * before["macs"]  # both sides of every inner convolution shrink
    channels = read_card(onnx.load(pruned)).architecture["channels"]
    assert sum(channels) <= 0.55 * sum([16, 32, 48, 64]), channels
    ops = {node.op_type for node in onnx.load(pruned).graph.node}
    assert "Add" not in ops and "AveragePool" not in ops  # plain blocks: nothing between the fusable convs


def test_single_lead_student(float_model: Path, tmp_path: Path) -> None:
    target = tmp_path / "lead2.onnx"
    result = run_cli("compress", "distill", "--teacher", str(float_model), "--arch", "sepresnet", "--width", "0.25",
                     "--leads", "ii", "-o", str(target), *FAST)  # fmt: skip
    assert result.returncode == 0, result.stderr
    card = read_card(onnx.load(target))
    assert card.leads == ["II"]
    x = np.zeros((1, 1, 1000), np.float32)
    assert make_session(target).run(["probabilities"], {"ecg": x})[0].shape == (1, 5)


def test_kd_loss_is_hard_bce_at_alpha_zero() -> None:
    import torch

    from compress.kd import multilabel_kd_loss

    logits, teacher = torch.randn(4, 5), torch.randn(4, 5)
    labels = (torch.rand(4, 5) > 0.5).float()
    hard = torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)
    assert torch.allclose(multilabel_kd_loss(logits, teacher, labels, 4.0, 0.0), hard)
    same = multilabel_kd_loss(teacher, teacher, labels, 1.0, 1.0)  # soft term at its minimum: the teacher's entropy
    p = torch.sigmoid(teacher)
    entropy = -(p * p.log() + (1 - p) * (1 - p).log()).mean()
    assert torch.allclose(same, entropy, atol=1e-6)


def test_recipe_chains_and_reuses(float_model: Path, synth_cache, tmp_path: Path) -> None:
    recipe = tmp_path / "chain.toml"
    recipe.write_text(f"""
input = "{float_model}"
data = "{synth_cache.path}"
out = "out"

[[steps]]
step = "distill"
arch = "sepresnet"
width = 0.25
epochs = 1
threads = 1

[[steps]]
step = "prune"
pruning_ratio = 0.3
finetune_epochs = 1
threads = 1

[[steps]]
step = "quantize"
calib_samples = 32
""")
    first = run_cli("compress", "run", str(recipe))
    assert first.returncode == 0, first.stderr
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [s["step"] for s in manifest["steps"]] == ["distill", "prune", "quantize"]
    final = read_card(onnx.load(tmp_path / "out" / "3-quantize.onnx"))
    assert [s["step"] for s in final.lineage][-3:] == ["distill", "prune", "quantize"]
    second = run_cli("compress", "run", str(recipe), "--json")
    assert second.returncode == 0, second.stderr
    assert [step["reused"] for step in json.loads(second.stdout)["steps"]] == [True, True, True]
    assert second.stderr.count("unchanged, reusing") == 3


@pytest.mark.parametrize("ratio", ["0", "1", "1.5", "-0.2"])
def test_pruning_ratio_outside_0_1(float_model: Path, tmp_path: Path, ratio: str) -> None:
    result = run_cli("compress", "prune", str(float_model), "--pruning-ratio", ratio, "-o", str(tmp_path / "p.onnx"))
    assert_one_line_error(result, "--pruning-ratio", code=2)
    assert not (tmp_path / "p.onnx").exists()


def test_ratio_that_empties_a_layer(float_model: Path, tmp_path: Path) -> None:
    result = run_cli("compress", "prune", str(float_model), "--pruning-ratio", "0.99", "-o", str(tmp_path / "p.onnx"))
    assert_one_line_error(result, "would empty layer", code=2)


def test_foreign_onnx_explains_what_is_needed(float_model: Path, tmp_path: Path) -> None:
    model = onnx.load(float_model)
    del model.metadata_props[:]
    foreign = tmp_path / "foreign.onnx"
    onnx.save(model, foreign)
    pruned = run_cli("compress", "prune", str(foreign), "--pruning-ratio", "0.5", "-o", str(tmp_path / "p.onnx"))
    assert_one_line_error(pruned, "no ecg-shrink model card")
    distilled = run_cli("compress", "distill", "--teacher", str(foreign), "--arch", "sepresnet", "-o",
                        str(tmp_path / "s.onnx"))  # fmt: skip
    assert_one_line_error(distilled, "no ecg-shrink model card")


def test_recipe_errors(tmp_path: Path, float_model: Path) -> None:
    bad_step = tmp_path / "bad.toml"
    bad_step.write_text(f'input = "{float_model}"\n[[steps]]\nstep = "shrink"\n')
    assert_one_line_error(run_cli("compress", "run", str(bad_step)), "unknown step", code=2)
    missing = tmp_path / "missing.toml"
    missing.write_text('input = "nope.onnx"\n[[steps]]\nstep = "quantize"\n')
    assert_one_line_error(run_cli("compress", "run", str(missing)), "not found", code=2)


def test_unknown_student_architecture(float_model: Path, tmp_path: Path) -> None:
    result = run_cli(
        "compress", "distill", "--teacher", str(float_model), "--arch", "nope", "-o", str(tmp_path / "s.onnx")
    )
    assert_one_line_error(result, "unknown architecture", code=2)
