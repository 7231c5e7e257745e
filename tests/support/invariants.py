"""The stock invariants as a test assertion, using the operators' drift check."""

from __future__ import annotations

from typing import Any

from reservations.drift import DriftReport, check_table


def check_invariants(client: Any, table_name: str) -> DriftReport:
    """Fail with every difference unless ``available == onHand - reserved`` and
    ``reserved`` equals what live holds hold, on every stock record."""
    report = check_table(client, table_name)
    assert report.ok, "\n".join(report.problems)
    return report
