"""Lead names: the standard 12-lead order and a forgiving name mapping.

Sources spell leads differently (PTB-XL ``AVR``, CPSC ``aVR``, PTB ``avr``, some
``MLII``); everything is mapped to the canonical names below, case-insensitively.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from runtime.errors import DataError

STANDARD_LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)  # fmt: skip

_ALIASES: dict[str, str] = {name.lower(): name for name in STANDARD_LEADS}
_ALIASES.update({"mlii": "II", "ml2": "II", "lead i": "I", "lead ii": "II", "lead iii": "III", "mli": "I"})


def canonical_lead(name: str) -> str | None:
    """Return the canonical name of a lead, or ``None`` if it is not one of the 12."""
    key = str(name).strip().lower().replace("_", " ")
    return _ALIASES.get(key)


def parse_lead_list(text: str | Sequence[str]) -> tuple[str, ...]:
    """Parse ``"I,II,V1"`` (or a sequence) into canonical names; unknown names raise."""
    items = [part for part in (text.split(",") if isinstance(text, str) else text) if str(part).strip()]
    if not items:
        raise DataError("empty lead list; give lead names such as I,II,V1")
    leads: list[str] = []
    for item in items:
        name = canonical_lead(item)
        if name is None:
            raise DataError(f"unknown lead name {item.strip()!r}; expected one of {', '.join(STANDARD_LEADS)}")
        if name in leads:
            raise DataError(f"lead {name} is listed twice")
        leads.append(name)
    return tuple(leads)


def select_leads(signal: np.ndarray, names: Sequence[str], wanted: Sequence[str], source: str = "record") -> np.ndarray:
    """Return ``signal[leads, samples]`` reordered to ``wanted``.

    ``names`` are the source's own lead names (any spelling); leads the model does not
    need are dropped; a missing lead is refused by name.
    """
    index: dict[str, int] = {}
    for position, name in enumerate(names):
        canonical = canonical_lead(name)
        if canonical is not None and canonical not in index:
            index[canonical] = position
    missing = [lead for lead in wanted if lead not in index]
    if missing:
        raise DataError(
            f"{source} lacks lead(s) {', '.join(missing)} that the model needs "
            f"(it has {', '.join(map(str, names)) or 'none'})"
        )
    return np.asarray(signal)[[index[lead] for lead in wanted]]
