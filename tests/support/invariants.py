"""The stock invariants as a test assertion, using the operators' drift check."""

from __future__ import annotations

from typing import Any

from reservations.drift import DriftReport, check_table
from reservations.supply import DEFAULT_FORMULA, Formula


def check_invariants(
    client: Any, table_name: str, formula: Formula = DEFAULT_FORMULA
) -> DriftReport:
    """Fail with every difference unless ``available == supply - reserved`` (supply: the
    formula over the record's measures) and ``reserved`` equals what live holds hold, on
    every stock record."""
    report = check_table(client, table_name, formula)
    assert report.ok, "\n".join(report.problems)
    return report
