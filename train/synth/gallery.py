"""A PNG gallery of synthetic 12-lead records, one per superclass, so people can look at them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runtime.atomic import atomic_write_figure
from runtime.leads import STANDARD_LEADS
from train.synth.cardiac import RENDER_FS
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


def render_gallery(out: str | Path, seed: int = 0, severity: float = 0.9) -> Path:
    """Render one 12-lead page per example into a single PNG (requires matplotlib)."""

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = len(EXAMPLES)
    fig, axes = plt.subplots(rows, 1, figsize=(16, 3.1 * rows))
    seconds = 4.0
    n = int(seconds * RENDER_FS)
    t = np.arange(n) / RENDER_FS
    for row, (title, codes) in enumerate(EXAMPLES.items()):
        plan = RecordPlan(
            ecg_id=row + 1, patient_index=row, patient_id=row + 1, age=60.0, sex=0, fold=1,
            true_codes=tuple((code, severity) for code in codes), written_codes=(),
        )  # fmt: skip
        leads, _, _, _ = render_record(plan, seed)
        ax = axes[row]
        for i, name in enumerate(STANDARD_LEADS):
            column, line = divmod(i, 3)
            offset = -line * 2.5
            x = t[: n // 4] + column * seconds / 4 * 1.0
            segment = leads[i, column * n // 4 : (column + 1) * n // 4]
            ax.plot(x, segment - np.median(segment) + offset, color="black", linewidth=0.8)
            ax.text(x[0] + 0.02, offset + 0.9, name, fontsize=9, color="tab:red")
        ax.set_title(f"{title} — synthetic, 4 s shown as 4 columns x 3 rows of leads", fontsize=10, loc="left")
        ax.set_xticks(np.arange(0, seconds + 0.01, 0.2), minor=True)
        ax.set_yticks(np.arange(-6.5, 1.6, 0.5), minor=True)
        ax.grid(which="both", color="#f4b6b6", linewidth=0.4)
        ax.set_xlim(0, seconds)
        ax.set_ylim(-6.5, 1.6)
        ax.set_yticklabels([])
        ax.set_xlabel("s")
    return atomic_write_figure(out, fig, dpi=80)
