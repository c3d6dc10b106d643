"""How each diagnostic superclass changes the beat, where a cardiologist would look.

Every function edits a ``Beat`` in place with a severity in (0, 1]; the generator draws it from
``generate.SEVERITY_RANGE`` (pronounced findings: subtle ones taught models to flag real normals).

* MI: pathological Q waves and loss of R in one coronary territory's leads (inferior
  II/III/aVF, anterior V1-V4, lateral I/aVL/V5-V6), with ST elevation (acute) or
  T inversion (old) along the same territory.
* STTC: ST depression and T flattening or inversion; long QT.
* CD: complete RBBB/LBBB (QRS >= 120 ms with their V1/V6 morphology), incomplete RBBB,
  first-degree AV block (PR > 200 ms), left anterior fascicular block (axis < -45 deg),
  non-specific intraventricular delay.
* HYP: raised QRS voltage (Sokolow-Lyon) with or without strain, right ventricular
  hypertrophy (right axis, tall R in V1), left atrial enlargement (wide notched P).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from train.synth.cardiac import Beat, Wave, frontal, unit

Edit = Callable[[Beat, float, np.random.Generator], None]

TERRITORIES: dict[str, np.ndarray] = {
    "inferior": unit([0.0, 1.0, -0.1]),
    "anterior": unit([0.05, 0.0, 1.0]),
    "lateral": unit([1.0, -0.45, 0.1]),
    "inferolateral": unit([0.7, 0.7, -0.1]),
    "anterolateral": unit([0.7, -0.2, 0.7]),
}


def _remove_along(vector: np.ndarray, axis: np.ndarray, fraction: float) -> np.ndarray:
    return vector - fraction * float(vector @ axis) * axis


def _mi(territory: str) -> Edit:
    def edit(beat: Beat, severity: float, rng: np.random.Generator) -> None:
        axis = TERRITORIES[territory]
        r = beat.get("R")
        projected = max(float(r.direction @ axis), 0.2)
        r.direction = _remove_along(r.direction, axis, 0.9 * severity)
        r.amp *= float(np.linalg.norm(r.direction))
        r.direction = unit(r.direction)
        beat.add(Wave("MIQ", -0.022, 0.013 + 0.006 * severity, (0.25 + 0.55 * severity) * projected, -axis))
        t = beat.get("T")
        if rng.random() < 0.3:  # acute: injury current lifts the ST segment towards the territory
            beat.add(Wave("STE", -0.06, 0.05, 0.08 + 0.22 * severity, axis, qt_scaled=True))
        else:  # old: T inverted in the territory's leads
            t.direction = unit(_remove_along(t.direction, axis, 0.8 + 1.4 * severity))

    return edit


def _st_depression(beat: Beat, severity: float, rng: np.random.Generator) -> None:
    lateral = frontal(beat.get("R").direction[1] * 30 + 45, -0.3)
    beat.add(Wave("STD", -0.07, 0.055, 0.05 + 0.17 * severity, -lateral, qt_scaled=True))


def _t_abnormal(beat: Beat, severity: float, rng: np.random.Generator) -> None:
    t = beat.get("T")
    if severity > 0.55 and rng.random() < 0.6:
        t.direction = -t.direction
        t.amp *= 0.4 + 0.5 * rng.random()
    else:
        t.amp *= max(0.08, 1.0 - 0.95 * severity)
    beat.get("T2").amp = 0.25 * t.amp


def _ischemia(beat: Beat, severity: float, rng: np.random.Generator) -> None:
    _st_depression(beat, severity, rng)
    _t_abnormal(beat, severity * rng.uniform(0.6, 1.0), rng)


def _long_qt(beat: Beat, severity: float, rng: np.random.Generator) -> None:
    beat.qtc += 0.05 + 0.07 * severity
    _t_abnormal(beat, 0.4 * severity, rng)


def _widen_qrs(beat: Beat, factor: float) -> None:
    for wave in beat.waves:
        if wave.name in ("Q", "R", "S") or wave.name.startswith("QRS"):  # the patient's notches widen too
            wave.sigma *= factor
            wave.tau *= factor


def _rbbb(complete: bool) -> Edit:
    def edit(beat: Beat, severity: float, rng: np.random.Generator) -> None:
        _widen_qrs(beat, 1.25 if complete else 1.08)
        s = beat.get("S")
        s.sigma *= 1.6 if complete else 1.2
        s.direction = unit([-0.7, 0.0, -0.4])  # slurred S in I and V6
        amp = (0.45 + 0.45 * severity) if complete else (0.15 + 0.2 * severity)
        beat.add(
            Wave("RPRIME", 0.06 if complete else 0.045, 0.02 if complete else 0.013, amp, unit([-0.55, 0.05, 0.85]))
        )
        if complete:
            beat.get("T").direction = unit(beat.get("T").direction - np.array([0.0, 0.0, 0.6]))

    return edit


def _lbbb(beat: Beat, severity: float, rng: np.random.Generator) -> None:
    beat.get("Q").amp = 0.0  # septal activation reversed: no q in I, aVL, V5, V6
    r = beat.get("R")
    r.direction = unit([0.8, 0.15, -0.65])
    r.sigma *= 1.6
    r.amp *= 1.1 + 0.3 * severity
    beat.add(Wave("R2", 0.045, 0.02, 0.7 * r.amp, unit([0.75, 0.1, -0.7])))  # notched broad R in V6
    beat.get("S").amp *= 0.3
    t = beat.get("T")
    t.direction = unit(-r.direction + np.array([0.0, 0.2, 0.0]))  # discordant T
    t.amp = 0.25 + 0.2 * severity


def _first_degree_av_block(beat: Beat, severity: float, rng: np.random.Generator) -> None:
    beat.pr = 0.205 + 0.11 * severity


def _lafb(beat: Beat, severity: float, rng: np.random.Generator) -> None:
    r = beat.get("R")
    r.direction = frontal(-45.0 - 30.0 * severity, float(r.direction[2]))
    beat.get("Q").direction = unit([0.3, -0.8, 0.4])  # q in I/aVL, r in II/III/aVF rotated
    _widen_qrs(beat, 1.05)


def _ivcd(beat: Beat, severity: float, rng: np.random.Generator) -> None:
    _widen_qrs(beat, 1.2 + 0.25 * severity)


def _lvh(beat: Beat, severity: float, rng: np.random.Generator) -> None:
    factor = 1.35 + 0.9 * severity
    r = beat.get("R")
    r.amp *= factor
    r.direction = unit(r.direction + np.array([0.2, 0.0, -0.25]))
    beat.get("S").amp *= factor
    if rng.random() < 0.45:  # strain: ST depression and T inversion in lateral leads
        t = beat.get("T")
        t.direction = unit(_remove_along(t.direction, unit([1.0, 0.2, -0.2]), 1.2 + severity))
        beat.add(Wave("STD", -0.07, 0.05, 0.05 + 0.1 * severity, unit([-1.0, -0.2, 0.2]), qt_scaled=True))


def _rvh(beat: Beat, severity: float, rng: np.random.Generator) -> None:
    r = beat.get("R")
    r.direction = frontal(100.0 + 25.0 * severity, 0.2)
    beat.add(Wave("RV", 0.01, 0.012, 0.4 + 0.5 * severity, unit([-0.5, 0.2, 0.85])))


def _lae(beat: Beat, severity: float, rng: np.random.Generator) -> None:
    p = beat.get("P")
    p.sigma *= 1.25 + 0.3 * severity
    beat.add(Wave("P2", 0.04 + 0.02 * severity, 0.02, 0.6 * p.amp, unit([0.9, 0.2, -0.5])))


def _sehyp(beat: Beat, severity: float, rng: np.random.Generator) -> None:
    beat.get("Q").amp *= 2.5 + 3.0 * severity
    beat.get("R").amp *= 1.2 + 0.4 * severity


# superclass -> [(SCP code, relative frequency, edit)], codes as in PTB-XL's scp_statements.csv
CATALOGUE: dict[str, list[tuple[str, float, Edit]]] = {
    "MI": [
        ("IMI", 0.38, _mi("inferior")),
        ("ASMI", 0.30, _mi("anterior")),
        ("ILMI", 0.07, _mi("inferolateral")),
        ("AMI", 0.08, _mi("anterior")),
        ("ALMI", 0.08, _mi("anterolateral")),
        ("LMI", 0.04, _mi("lateral")),
        ("IPLMI", 0.03, _mi("inferolateral")),
        ("INJAS", 0.02, _mi("anterior")),
    ],
    "STTC": [
        ("NDT", 0.25, _t_abnormal),
        ("NST_", 0.2, _ischemia),
        ("ISC_", 0.15, _ischemia),
        ("ISCAL", 0.13, _ischemia),
        ("ISCAS", 0.06, _ischemia),
        ("ISCIL", 0.06, _ischemia),
        ("ISCIN", 0.06, _ischemia),
        ("LNGQT", 0.05, _long_qt),
        ("DIG", 0.04, _st_depression),
    ],
    "CD": [
        ("LAFB", 0.25, _lafb),
        ("IRBBB", 0.2, _rbbb(False)),
        ("1AVB", 0.2, _first_degree_av_block),
        ("CRBBB", 0.15, _rbbb(True)),
        ("CLBBB", 0.1, _lbbb),
        ("IVCD", 0.1, _ivcd),
    ],
    "HYP": [("LVH", 0.78, _lvh), ("LAO/LAE", 0.08, _lae), ("RVH", 0.07, _rvh), ("SEHYP", 0.07, _sehyp)],
}

# CD codes that PTB-XL also sees in otherwise normal ECGs (NORM + minor conduction finding)
MINOR_CD_CODES = ("IRBBB", "1AVB", "LAFB")


def choose_code(superclass: str, rng: np.random.Generator) -> str:
    """Pick one SCP code of a superclass with PTB-XL-like relative frequencies."""
    entries = CATALOGUE[superclass]
    weights = np.array([weight for _, weight, _ in entries])
    return entries[int(rng.choice(len(entries), p=weights / weights.sum()))][0]


def superclass_of(code: str) -> str:
    """The diagnostic superclass of an SCP code this generator renders (``NORM`` for NORM)."""
    for klass, entries in CATALOGUE.items():
        if any(name == code for name, _, _ in entries):
            return klass
    if code == "NORM":
        return "NORM"
    raise KeyError(f"no superclass for SCP code {code}")


def apply_code(beat: Beat, code: str, severity: float, rng: np.random.Generator) -> None:
    """Apply the morphology of one SCP code to ``beat``."""
    for entries in CATALOGUE.values():
        for name, _, edit in entries:
            if name == code:
                edit(beat, severity, rng)
                return
    raise KeyError(f"no morphology for SCP code {code}")
