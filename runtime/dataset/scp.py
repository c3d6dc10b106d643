"""PTB-XL's SCP statements and the superdiagnostic label protocol.

The protocol follows the PTB-XL benchmark: every ``scp_codes`` key whose statement is
diagnostic maps to its ``diagnostic_class``; the likelihood is ignored (a code with
likelihood 0 still counts); records with no superclass are dropped.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from runtime.errors import DataError

SUPERCLASSES: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "HYP")
LABEL_PROTOCOL = "ptbxl-superdiagnostic (diagnostic scp_codes -> diagnostic_class, likelihood ignored)"

_MAX_SCP_TEXT = 4096
# A statement code is any run of 1-40 characters without quotes, backslashes, commas or line
# breaks: PTB-XL's own codes include parentheses (``PRC(S)``), digits first (``1AVB``) and
# trailing underscores (``ISC_``).
_ENTRY = re.compile(r"\s*'([^'\"\\,\r\n]{1,40})'\s*:\s*(-?\d{1,6}(?:\.\d{0,6})?)\s*")


def parse_scp_codes(text: str) -> dict[str, float]:
    """Parse a ``scp_codes`` cell such as ``{'NORM': 100.0, 'SR': 0.0}`` as data.

    Only a flat dict of quoted code -> number is accepted; anything else (calls,
    nesting, other literals) raises ``DataError``.  Nothing is ever evaluated.
    """
    if not isinstance(text, str):
        raise DataError(f"scp_codes must be text, got {type(text).__name__}")
    body = text.strip()
    if len(body) > _MAX_SCP_TEXT:
        raise DataError(f"scp_codes cell is {len(body)} characters long (limit {_MAX_SCP_TEXT})")
    if not (body.startswith("{") and body.endswith("}")):
        raise DataError(f"scp_codes {body[:60]!r} is not a dict literal like {{'NORM': 100.0}}")
    inner = body[1:-1].strip()
    codes: dict[str, float] = {}
    if not inner:
        return codes
    for part in inner.split(","):
        if not part.strip():
            raise DataError(f"scp_codes {body[:60]!r} has an empty entry")
        match = _ENTRY.fullmatch(part)
        if match is None:
            raise DataError(f"scp_codes entry {part.strip()[:40]!r} is not 'CODE': number")
        codes[match.group(1)] = float(match.group(2))
    return codes


def load_statement_codes(path: str | Path) -> frozenset[str]:
    """Every statement code listed in ``scp_statements.csv`` (diagnostic, form and rhythm)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} not found; a PTB-XL folder must contain scp_statements.csv")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        return frozenset(row[0].strip() for row in reader if row and row[0].strip())


def unknown_codes(codes: Mapping[str, float], known: frozenset[str]) -> list[str]:
    """The codes of one record that ``scp_statements.csv`` does not list, in record order."""
    return [code for code in codes if code not in known]


def load_diagnostic_classes(path: str | Path) -> dict[str, str]:
    """Read ``scp_statements.csv`` and return diagnostic code -> superclass."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} not found; a PTB-XL folder must contain scp_statements.csv")
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        for column in ("diagnostic", "diagnostic_class"):
            if column not in fields:
                raise DataError(f"{path}: missing column {column!r} (has {', '.join(fields[:8])}...)")
        code_column = fields[0]
        mapping: dict[str, str] = {}
        for row in reader:
            flag = (row.get("diagnostic") or "").strip()
            klass = (row.get("diagnostic_class") or "").strip()
            if flag in ("1", "1.0") and klass:
                if klass not in SUPERCLASSES:
                    raise DataError(f"{path}: code {row[code_column]} has unknown class {klass!r}")
                mapping[row[code_column].strip()] = klass
    if not mapping:
        raise DataError(f"{path} lists no diagnostic statements; is it PTB-XL's scp_statements.csv?")
    return mapping


def superclass_labels(codes: Mapping[str, float], diagnostic: Mapping[str, str]) -> np.ndarray:
    """Multi-hot vector over ``SUPERCLASSES`` for one record (likelihood ignored)."""
    vector = np.zeros(len(SUPERCLASSES), dtype=np.uint8)
    for code in codes:
        klass = diagnostic.get(code)
        if klass is not None:
            vector[SUPERCLASSES.index(klass)] = 1
    return vector


def label_matrix(all_codes: Iterable[Mapping[str, float]], diagnostic: Mapping[str, str]) -> np.ndarray:
    """Stack ``superclass_labels`` for many records into ``[N, 5]`` uint8."""
    rows = [superclass_labels(codes, diagnostic) for codes in all_codes]
    if not rows:
        return np.zeros((0, len(SUPERCLASSES)), dtype=np.uint8)
    return np.stack(rows)
