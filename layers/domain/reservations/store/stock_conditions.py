"""What a stock record's writes are conditioned on, and the refusals they turn into."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import StockSerialized
from ..records import StockLevel
from ..supply import ON_HAND
from .keys import PK, n

# Counted writes (onHand) are refused where stock is made of labels (issue 16).
COUNTED = "attribute_not_exists(serialized)"
# A write that takes units from a sharded record's available finds them in the record
# itself, or takes it into debt only while its buckets are closed (docs/architecture.md,
# invariant 9).
SHARDED_TAKES = (
    "attribute_not_exists(bucketsEver) OR available >= :gives OR attribute_exists(#closed)"
)
ANY_VERSION = -1  # If-Match: *, any record that exists
Versions = int | tuple[int, ...]  # one version, or any of several (an If-Match list)


class VersionMismatch(Exception):
    """A compare-and-set found the record at another version (``current``; None: no record)."""

    def __init__(self, current: StockLevel | None) -> None:
        super().__init__("the stock record moved")
        self.current = current


class StaleSequence(Exception):
    """A ``stock.set`` no newer than the last one applied to the record's measure."""

    def __init__(self, current: int) -> None:
        super().__init__(f"sequence {current} is already applied")
        self.current = current


def serialized_refusal(sku: str, location: str) -> StockSerialized:
    return StockSerialized(
        f"the stock of {sku!r} at {location!r} is its labels: "
        "write the labels (PUT /labels/{label}, label.upsert), not onHand"
    )


def refuse_serialized(old: Mapping[str, Any] | None, sku: str, location: str) -> None:
    if old and "serialized" in old:
        raise serialized_refusal(sku, location)


def version_condition(expected: Versions) -> tuple[str, dict[str, Any]]:
    """The record is at ``expected`` (or any of them); 0 also matches a record not written
    yet (or written before records had a version); ANY_VERSION any record that exists."""
    wanted = (expected,) if isinstance(expected, int) else expected
    if ANY_VERSION in wanted:
        return f"attribute_exists({PK})", {}
    values = {f":v{index}": n(version) for index, version in enumerate(wanted)}
    condition = f"version IN ({', '.join(values)})"
    if 0 in wanted:
        condition = f"attribute_not_exists(version) OR {condition}"
    return condition, values


def sequence_attribute(measure: str) -> str:
    """Where the ERP's last applied ``stock.set`` sequence of a measure is kept."""
    return "erpSequence" if measure == ON_HAND else f"erpSequence#{measure}"


def at_version(level: StockLevel | None, expected: Versions) -> bool:
    """Whether a compare-and-set would have found ``level`` at ``expected``."""
    wanted = (expected,) if isinstance(expected, int) else expected
    if ANY_VERSION in wanted:
        return level is not None
    return (0 if level is None else level.version) in wanted
