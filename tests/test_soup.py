"""train soup: a greedy average of fine-tunes of one start, chosen on validation."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest
import torch

from runtime.card import read_card
from tests.helpers import assert_one_line_error, run_cli


def fine_tune(synth_cache, start: Path, out: Path, lr: str, seed: str = "0") -> Path:
    """A one-epoch fine-tune of ``start`` on the tiny synthetic cache."""
    result = run_cli("train", "fit", "--data", str(synth_cache.path), "--arch", "sepresnet", "--width", "0.5",
                     "--epochs", "1", "--lr", lr, "--seed", seed, "--threads", "1", "--init", str(start), "-o", str(out))  # fmt: skip
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture(scope="module")
def tunes(float_model: Path, synth_cache, tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Two fine-tunes of the same start on the same records, at two learning rates."""
    work = tmp_path_factory.mktemp("tunes")
    return [fine_tune(synth_cache, float_model, work / f"lr{lr}", lr) for lr in ("0.003", "0.0003")]


def test_soup_keeps_an_ingredient_only_when_the_average_validates_better(
    tunes: list[Path], float_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "soup"
    result = run_cli("train", "soup", *map(str, tunes), "--start", str(float_model), "-o", str(out), "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    record = summary["training"]["soup"]
    alone = record["alone"]
    assert set(alone) == {"lr0.003", "lr0.0003", "start (model.onnx)"}
    # the best ingredient alone comes first; each later one stays only if it raised the running best
    assert record["members"][0] == max(alone, key=lambda name: alone[name])
    best = alone[record["members"][0]]
    for step in record["tried"]:
        assert step["kept"] == (step["val_macro_auc"] > best)
        best = max(best, step["val_macro_auc"])
        assert (step["ingredient"] in record["members"]) == step["kept"]
    assert record["val_macro_auc"] == best >= max(alone.values())
    assert record["batch_norm"] in ("averaged", "measured")
    # the exported graph is the soup: its measured validation AUC is the one that chose it
    card = read_card(onnx.load(out / "model.onnx"))
    assert abs(card.metrics["val"]["macro_auc"] - record["val_macro_auc"]) < 1e-3
    assert card.lineage[-1] == {"step": "soup", "ingredients": record["members"]}
    assert (out / "run.json").is_file()


def test_soup_refuses_runs_trained_on_other_records(
    tunes: list[Path], float_model: Path, synth_cache, tmp_path: Path
) -> None:
    other_seed = fine_tune(synth_cache, float_model, tmp_path / "seed1", "0.003", seed="1")
    out = tmp_path / "soup"
    result = run_cli("train", "soup", str(tunes[0]), str(other_seed), "-o", str(out))
    assert_one_line_error(result, "differs", "seed", "one seed and size", code=2)
    assert not out.exists()


def test_soup_needs_two_ingredients(tunes: list[Path], tmp_path: Path) -> None:
    result = run_cli("train", "soup", str(tunes[0]), "-o", str(tmp_path / "soup"))
    assert_one_line_error(result, "two ingredients", "--start", code=2)


def test_average_state_keeps_the_first_normalization_and_counters() -> None:
    from train.soup import average_state

    first = {"net.w": torch.zeros(2), "normalize_mean": torch.ones(1), "net.n": torch.tensor(3)}
    second = {"net.w": torch.full((2,), 3.0), "normalize_mean": torch.ones(1), "net.n": torch.tensor(7)}
    averaged = average_state([first, second])
    assert averaged["net.w"].tolist() == [1.5, 1.5]
    assert float(averaged["normalize_mean"]) == 1.0 and int(averaged["net.n"]) == 3


def test_a_run_trained_exactly_as_another_is_used_once() -> None:
    from train.soup import Ingredient, without_repeats

    same = {"arch": "sepresnet", "config": {"seed": 0, "lr": 0.001}}
    kept = without_repeats([Ingredient("a", {}, same), Ingredient("a-interp", {}, dict(same)),
                            Ingredient("b", {}, {**same, "config": {"seed": 0, "lr": 0.003}})])  # fmt: skip
    assert [k.name for k in kept] == ["a", "b"]


def test_if_changed_keeps_a_soup_of_the_same_ingredients_and_recooks_a_changed_one(
    tunes: list[Path], float_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "soup"
    with_start = ["train", "soup", *map(str, tunes), "--start", str(float_model), "-o", str(out), "--if-changed"]
    assert run_cli(*with_start).returncode == 0
    record = json.loads((out / "run.json").read_text())["training"]["soup"]
    assert record["ingredients"] == [tune.name for tune in tunes] and len(record["start_sha256"]) == 64
    cooked = (out / "model.onnx").stat().st_mtime_ns
    again = run_cli(*with_start)
    assert again.returncode == 0 and "left as it is" in again.stderr
    assert (out / "model.onnx").stat().st_mtime_ns == cooked
    # the same folder asked for a soup without the start: cooked again from the runs alone
    changed = run_cli("train", "soup", *map(str, tunes), "-o", str(out), "--if-changed")
    assert changed.returncode == 0, changed.stderr
    record = json.loads((out / "run.json").read_text())["training"]["soup"]
    assert set(record["alone"]) == {tune.name for tune in tunes} and record["start_sha256"] is None


def test_if_changed_reads_soups_recorded_before_the_ingredient_list(tmp_path: Path) -> None:
    from train.soup import cooked_from

    runs, start = [tmp_path / "a", tmp_path / "b"], tmp_path / "model.onnx"
    out = tmp_path / "soup"
    out.mkdir()
    old = {"training": {"soup": {"alone": {"a": 0.8, "b": 0.7, "start (model.onnx)": 0.6}}}}
    (out / "run.json").write_text(json.dumps(old))
    assert cooked_from(out, runs, start) is not None  # the names it scored are the ones asked for
    assert cooked_from(out, runs[:1], start) is None
    (out / "run.json").write_text(json.dumps({"training": {"best_epoch": 3}}))
    with pytest.raises(Exception, match="not a soup"):
        cooked_from(out, runs, start)
