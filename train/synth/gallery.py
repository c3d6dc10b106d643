"""A PNG gallery of synthetic 12-lead records, one per superclass, so people can look at them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runtime.atomic import atomic_write_figure
from runtime.leads import STANDARD_LEADS
from train.synth.cardiac import RENDER_FS
from train.synth.fitted import packaged_model, render_fitted_record
from train.synth.generate import RecordPlan, render_record

EXAMPLES: dict[str, tuple[str, ...]] = {
    "NORM": ("NORM",),
    "MI (inferior, IMI)": ("IMI",),
    "MI (anteroseptal, ASMI)": ("ASMI",),
    "STTC (ischaemic ST-T)": ("ISC_",),
    "CD (complete RBBB)": ("CRBBB",),
    "CD (complete LBBB)": ("CLBBB",),
    "CD (1st-degree AV block)": ("1AVB",),
    "HYP (LVH)": ("LVH",),
}


# version 3 draws beats per label combination (train.synth.beat_model): one record of each of the
# most frequent ones, sinus rhythm
FITTED_EXAMPLES: dict[str, frozenset[str]] = {
    name: frozenset(name.split("+")) for name in ("NORM", "MI", "STTC", "CD", "HYP", "MI+CD", "STTC+HYP", "NORM+CD")
}


def _example_records(generator: str, seed: int, severity: float) -> list[tuple[str, np.ndarray, int]]:
    """(title, leads [12, n], fs) of each example of ``generator``."""
    if generator == "fitted":
        fs = packaged_model().fs
        return [(f"{title} (generator version 3)", render_fitted_record(set(classes), row, row + 1, seed, 0.0, 0.0)[0], fs)
                for row, (title, classes) in enumerate(FITTED_EXAMPLES.items())]  # fmt: skip
    records = []
    for row, (title, codes) in enumerate(EXAMPLES.items()):
        plan = RecordPlan(
            ecg_id=row + 1, patient_index=row, patient_id=row + 1, age=60.0, sex=0, fold=1,
            true_codes=tuple((code, severity) for code in codes), written_codes=(),
        )  # fmt: skip
        records.append((f"{title} (generator version 2)", render_record(plan, seed)[0], RENDER_FS))
    return records


def render_gallery(out: str | Path, seed: int = 0, severity: float = 0.9, generator: str = "fitted") -> Path:
    """Render one 12-lead page per example of ``generator`` (fitted: version 3, one record per label
    combination; dipole: version 2, one per pathology at ``severity``) into a single PNG (requires
    matplotlib)."""

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    examples = _example_records(generator, seed, severity)
    rows = len(examples)
    fig, axes = plt.subplots(rows, 1, figsize=(16, 3.1 * rows))
    seconds = 4.0
    for row, (title, leads, fs) in enumerate(examples):
        n = int(seconds * fs)
        t = np.arange(n) / fs
        ax = axes[row]
        for i, name in enumerate(STANDARD_LEADS):
            column, line = divmod(i, 3)
            offset = -line * 2.5
            x = t[: n // 4] + column * seconds / 4 * 1.0
            segment = leads[i, column * n // 4 : (column + 1) * n // 4]
            ax.plot(x, segment - np.median(segment) + offset, color="black", linewidth=0.8)
            ax.text(x[0] + 0.02, offset + 0.9, name, fontsize=9, color="tab:red")
        ax.set_title(f"{title}: synthetic, 4 s shown as 4 columns x 3 rows of leads", fontsize=10, loc="left")
        ax.set_xticks(np.arange(0, seconds + 0.01, 0.2), minor=True)
        ax.set_yticks(np.arange(-6.5, 1.6, 0.5), minor=True)
        ax.grid(which="both", color="#f4b6b6", linewidth=0.4)
        ax.set_xlim(0, seconds)
        ax.set_ylim(-6.5, 1.6)
        ax.set_yticklabels([])
        ax.set_xlabel("s")
    return atomic_write_figure(out, fig, dpi=80)
