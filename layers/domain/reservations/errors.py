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
