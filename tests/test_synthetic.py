"""The synthetic PTB-XL generator: layout, physiology, determinism."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from runtime.dataset.cache import PreparedDataset
from train.synth.generate import RecordPlan, render_record, write_dataset


def _tree_hash(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def test_same_seed_same_bytes_regardless_of_workers(tmp_path: Path) -> None:
    write_dataset(tmp_path / "a", records=24, seed=5, fs="both", workers=1, progress=False)
    write_dataset(tmp_path / "b", records=24, seed=5, fs="both", workers=2, progress=False)
    write_dataset(tmp_path / "c", records=24, seed=6, fs="100", workers=1, progress=False)
    assert _tree_hash(tmp_path / "a") == _tree_hash(tmp_path / "b")
    assert (tmp_path / "a/records500/00000/00001_hr.dat").stat().st_size == 12 * 5000 * 2
    assert _tree_hash(tmp_path / "a" / "records100") != _tree_hash(tmp_path / "c" / "records100")


def test_einthoven_and_goldberger_hold(synth_cache: PreparedDataset) -> None:
    mv = synth_cache.millivolts(np.arange(20))
    lead_i, lead_ii, lead_iii, avr, avl, avf = (mv[:, k] for k in range(6))
    tolerance = 0.0025  # rounding to 1 uV per lead
    assert np.abs(lead_iii - (lead_ii - lead_i)).max() <= tolerance
    assert np.abs(avr + (lead_i + lead_ii) / 2).max() <= tolerance
    assert np.abs(avl - (lead_i - lead_ii / 2)).max() <= tolerance
    assert np.abs(avf - (lead_ii - lead_i / 2)).max() <= tolerance


def _plan(codes: tuple[str, ...], patient: int = 0) -> RecordPlan:
    return RecordPlan(
        ecg_id=patient + 1,
        patient_index=patient,
        patient_id=1,
        age=55,
        sex=0,
        fold=1,
        true_codes=tuple((c, 1.0) for c in codes),
        written_codes=(),
    )


def _qrs_width_ms(lead: np.ndarray) -> float:
    """Rough QRS width: time the beat spends above 20% of its peak slope around the main peak."""
    slope = np.abs(np.diff(lead))
    active = slope > 0.2 * slope.max()
    peaks = np.flatnonzero(active)
    spans = np.split(peaks, np.flatnonzero(np.diff(peaks) > 25) + 1)
    return float(np.median([span[-1] - span[0] for span in spans])) * 2.0


def test_physiological_ranges_and_pathologies() -> None:
    normal, _, heart_rate, _ = render_record(_plan(("NORM",)), seed=0)
    assert 40 <= heart_rate <= 125
    assert 0.3 < np.ptp(normal[1]) < 4.0  # lead II peak-to-peak in mV
    rbbb, _, _, _ = render_record(_plan(("CRBBB",)), seed=0)
    assert _qrs_width_ms(rbbb[6]) > _qrs_width_ms(normal[6])
    lvh, _, _, _ = render_record(_plan(("LVH",)), seed=0)
    sokolow = lambda x: np.abs(x[6].min()) + x[10].max()  # S in V1 + R in V5
    assert sokolow(lvh) > 1.3 * sokolow(normal)
    # inferior MI: Q waves and lost R turn aVF's QRS negative; anatomy varies, so over 8 patients
    net_change = []
    for patient in range(8):
        before = render_record(_plan(("NORM",), patient), seed=0)[0][5]
        after = render_record(_plan(("IMI",), patient), seed=0)[0][5]
        net_change.append((after.max() + after.min()) - (before.max() + before.min()))
    assert np.mean(net_change) < -0.2 and sum(change < 0 for change in net_change) >= 6, net_change
