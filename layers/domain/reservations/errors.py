"""Domain errors. Each maps to one HTTP status and error code in the API function."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class DomainError(Exception):
    code: str = "DOMAIN_ERROR"


@dataclass(frozen=True, slots=True)
class ShortItem:
    sku: str
    location: str | None  # None: a line the service was to allocate, to a country or site
    requested: int
    available: int
    # A line without a location: where it was to be served from, and what each eligible
    # location has (``available`` is their sum).
    country: str | None = None
    site: str | None = None
    locations: tuple[tuple[str, int], ...] | None = None


class InsufficientStock(DomainError):
    code = "INSUFFICIENT_STOCK"

    def __init__(self, items: list[ShortItem], message: str | None = None) -> None:
        super().__init__(message or f"{len(items)} item(s) lack stock")
        self.items = items


class OversellLimit(InsufficientStock):
    """An allowOversell line would take its stock record's available below -limit.

    ``items`` are every refused line, as for InsufficientStock; ``oversold`` are the
    allowOversell ones among them, with their index in the request.
    """

    code = "OVERSELL_LIMIT"

    def __init__(
        self, items: list[ShortItem], oversold: list[tuple[int, ShortItem]], limit: int
    ) -> None:
        super().__init__(
            items,
            f"{len(oversold)} allowOversell line(s) would take available below -{limit}, "
            "the oversell limit per stock record",
        )
        self.oversold = oversold
        self.limit = limit


class Forbidden(DomainError):
    """The caller's scopes admit the route but not what the request asks of it."""

    code = "FORBIDDEN"

    def __init__(self, fields: list[str], reason: str) -> None:
        super().__init__(reason)
        self.fields = fields
        self.reason = reason


class IdempotencyConflict(DomainError):
    code = "IDEMPOTENCY_CONFLICT"

    def __init__(self, reservation_id: str) -> None:
        super().__init__(
            f"reservation {reservation_id!r} already exists with a different request body"
        )
        self.reservation_id = reservation_id


@dataclass(frozen=True, slots=True)
class LabelState:
    """A label a request named, as it was found (``status`` None: no such label)."""

    label: str
    status: str | None
    sku: str | None = None
    location: str | None = None


class LabelUnavailable(DomainError):
    """A reserve named labels that are not ACTIVE stock of that line's sku and location."""

    code = "LABEL_UNAVAILABLE"

    def __init__(self, labels: list[LabelState]) -> None:
        super().__init__(f"{len(labels)} label(s) cannot be reserved")
        self.labels = labels


class LabelReserved(LabelUnavailable):
    """A label held by another reservation: it ships, or is changed, only through that one."""

    code = "LABEL_RESERVED"

    def __init__(self, labels: list[LabelState]) -> None:
        DomainError.__init__(self, f"{len(labels)} label(s) are reserved by another hold")
        self.labels = labels


class LabelNotHeld(DomainError):
    """A release or shipment named labels the hold does not hold (the service says why)."""

    code = "LABEL_NOT_HELD"

    def __init__(self, labels: list[str], states: list[LabelState] | None = None) -> None:
        super().__init__(f"the hold does not hold label(s) {', '.join(labels)}")
        self.names = labels
        self.labels = states or [LabelState(label, None) for label in labels]


class LabelsRequired(DomainError):
    """A line without labels at a serialized (sku, location): its stock is reserved by label."""

    code = "LABELS_REQUIRED"

    def __init__(self, records: list[tuple[str, str]]) -> None:
        where = ", ".join(f"{sku} at {location}" for sku, location in records)
        super().__init__(f"stock is serialized: name the labels to reserve ({where})")
        self.records = records


class StockSerialized(DomainError):
    """A counted stock write (onHand) to a (sku, location) whose stock is its labels."""

    code = "STOCK_SERIALIZED"


class StockCounted(DomainError):
    """A label for a (sku, location) that holds counted stock: it is one or the other."""

    code = "STOCK_COUNTED"


class NotFound(DomainError):
    code = "NOT_FOUND"


class InvalidState(DomainError):
    code = "INVALID_STATE"

    def __init__(self, reservation_id: str, status: str) -> None:
        super().__init__(f"reservation {reservation_id!r} is {status}")
        self.status = status


class PreconditionFailed(DomainError):
    """A compare-and-set found the record elsewhere than the caller expected."""

    code = "PRECONDITION_FAILED"

    def __init__(self, current: Any) -> None:
        super().__init__("the record changed since it was read; read it again")
        self.current = current  # the record as it is now (None: there is none)


class Contention(DomainError):
    """The write kept conflicting with concurrent writers; the caller may retry later."""

    code = "CONTENTION"


class InvalidRequest(DomainError):
    """Input that passed the schema but breaks a rule only the service knows (a setting)."""

    code = "VALIDATION_ERROR"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def field_path(location: Sequence[Any]) -> str:
    """``("body", "items", 0, "quantity")`` -> ``body.items[0].quantity``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"
