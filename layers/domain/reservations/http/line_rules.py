"""Rules over the lines of one request that no single line's schema can state."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, TypeVar


class StockLine(Protocol):
    sku: str

    @property
    def location(self) -> str | None: ...


Lines = TypeVar("Lines", bound=Sequence[StockLine])


def one_line_per_stock_record(items: Lines) -> Lines:
    """A transaction cannot touch the same item twice, and merging silently would hide a
    client bug: reject a repeated (sku, location) and name both lines. A line without a
    location is allocated, possibly over several locations: it is its sku's only line."""
    seen: dict[tuple[str, str | None], int] = {}
    for index, item in enumerate(items):
        key = (item.sku, item.location)
        if key in seen:
            raise ValueError(
                f"items[{index}] repeats sku {item.sku!r} at location {item.location!r} "
                f"of items[{seen[key]}]; send one line per (sku, location)"
            )
        seen[key] = index
    first: dict[str, int] = {}
    unlocated = {item.sku for item in items if item.location is None}
    for index, item in enumerate(items):
        if item.sku in unlocated and item.sku in first:
            raise ValueError(
                f"items[{index}] repeats sku {item.sku!r} of items[{first[item.sku]}]; a line "
                "without a location must be the only line of its sku"
            )
        first.setdefault(item.sku, index)
    return items


# A reserve is one transaction of at most 100 items: its header, per line the stock record
# and the line, per label the label, and an idempotency key's answer; so is any later step
# of the hold (an ERP offset carries a receipt instead of an answer, and touches one line).
MAX_TRANSACTION_ITEMS = 100


def max_labels(lines: int) -> int:
    """How many labels a request of ``lines`` lines may name (96 on one line)."""
    return MAX_TRANSACTION_ITEMS - 2 - 2 * lines


Labelled = TypeVar("Labelled", bound=Sequence["LabelledLine"])


def labels_fit(items: Labelled) -> Labelled:
    """Every label once in the request, and no more than its transaction can carry."""
    seen: dict[str, int] = {}
    for index, item in enumerate(items):
        for label in item.labels or ():
            if label in seen:
                raise ValueError(
                    f"items[{index}] names label {label!r} of items[{seen[label]}] again"
                )
            seen[label] = index
    if seen and len(seen) > max_labels(len(items)):
        raise ValueError(
            f"{len(seen)} labels: a request of {len(items)} line(s) names at most "
            f"{max_labels(len(items))} (one transaction of {MAX_TRANSACTION_ITEMS} items)"
        )
    return items


class LabelledLine(Protocol):
    @property
    def labels(self) -> list[str] | None: ...
