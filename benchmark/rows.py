"""The benchmark's result row as a typed record: every field a row may carry, with its type.

A row is one model x provider x threads x batch.  It stays a plain mapping at run time (it is
written to JSON, CSV and Markdown as is), but every producer and consumer is checked against
this declaration by mypy, so a misspelt or mistyped field is a type error, not a silent blank.
"""

from __future__ import annotations

from typing import TypedDict


class BenchmarkRow(TypedDict, total=False):
    """One measured configuration of one model (absent fields were not measured for it)."""

    # identity
    model: str  # the path benchmarked
    name: str  # display label, unique in its table
    id: str  # sha256 of the file: what `benchmark compare` matches first
    architecture: str | None
    precision: str  # fp32 or int8
    # size
    bytes: int
    parameters: int
    macs: int
    macs_uncounted_nodes: int  # nodes whose MACs could not be counted (shapes unknown): MACs is a lower bound
    leads: int | None
    # accuracy (needs a card and data)
    macro_auc: float
    macro_auc_low: float
    macro_auc_high: float
    auc: dict[str, float | None]
    fmax: float
    f1_at_thresholds: float
    test_records: int
    dataset: str | None
    note: str  # why a field is missing
    # latency
    timed_on: str  # which inputs were timed: split records or seeded noise
    provider: str
    threads: int
    batch: int
    calls: int
    mean_ms: float
    std_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    throughput: float
    peak_rss_mb: float
    achieved_macs_per_s: float
    peak_macs_per_s: float
    fraction_of_peak: float
    floor_ms: float  # the row's MACs at the CPU's probed peak: the time arithmetic alone needs
    x_floor: float  # p50 as a multiple of that floor
    # against --baseline
    x_smaller: float
    x_faster: float
    baseline: str
    baseline_model: str
    delta_auc: float
    delta_auc_low: float
    delta_auc_high: float
    # a failed model
    error: str
