"""The lifecycle machine's model, deliberately naive: what each hold holds, per line, and
the status it must have; the rules of each transition on it; and how a stored reservation
or a raised error is compared with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from reservations.config import Settings
from reservations.errors import DomainError, InsufficientStock, InvalidRequest, InvalidState
from reservations.lifecycle import LineQuantity
from reservations.records import LIVE_STATUSES, Reservation, Status

SKUS = ["A", "B", "C"]
LOCATIONS = ["WH1", "WH2"]
RECORDS = [(sku, location) for sku in SKUS for location in LOCATIONS]
CLIENT_IDS = ["checkout-1", "checkout-2"]
SETTINGS = Settings(table_name="unused")
DEFAULT_EXPIRES = SETTINGS.default_expires_in_seconds
MAX_EXPIRES = SETTINGS.max_expires_in_seconds
GRACE = SETTINGS.expiry_grace_seconds
RETENTION = SETTINGS.hold_retention_seconds
FAR_FUTURE = 2**40

Record = tuple[str, str]
Cart = list[tuple[Record, int, bool]]


# --- the model ---------------------------------------------------------------------------


@dataclass
class ModelLine:
    sku: str
    location: str
    quantity: int
    allow_oversell: bool
    held: int
    released: int = 0
    consumed: int = 0

    @property
    def record(self) -> Record:
        return (self.sku, self.location)


@dataclass
class ModelHold:
    id: str
    body: dict[str, Any]  # the request as sent: a resend of the same body is a replay
    status: Status
    expires_at: int
    purge_at: int | None
    lines: list[ModelLine]
    version: int = 1
    lines_purged: bool = False  # TTL deleted the lines (the stream settled them)
    header_purged: bool = False  # and then the header: the id is free again

    def status_at(self, now: int) -> Status:
        if self.status is Status.ACTIVE and self.expires_at <= now:
            return ended_as(self, Status.EXPIRED)  # as the sweeper will end it
        return self.status

    @property
    def holding(self) -> bool:
        """Its lines are in the table and count towards ``reserved``."""
        return not self.lines_purged and self.status in LIVE_STATUSES

    def line(self, sku: str, location: str) -> ModelLine | None:
        return next((x for x in self.lines if x.record == (sku, location)), None)


def require(hold: ModelHold, now: int, *allowed: Status) -> None:
    current = hold.status_at(now)
    if current not in allowed:
        raise InvalidState(hold.id, current.value)


def bump(hold: ModelHold) -> None:
    hold.version += 1


def end(hold: ModelHold, status: Status, now: int) -> None:
    hold.status = status
    hold.purge_at = now + RETENTION
    bump(hold)


def release_all(hold: ModelHold) -> None:
    for line in hold.lines:
        line.released += line.held
        line.held = 0


def take(hold: ModelHold, items: list[LineQuantity], attribute: str) -> None:
    taken: set[Record] = set()
    for index, item in enumerate(items):
        where = f"body.items[{index}]"
        line = hold.line(item.sku, item.location)
        if line is None:
            raise InvalidRequest(where, "no such line")
        if (item.sku, item.location) in taken:
            raise InvalidRequest(where, "repeated")
        if item.quantity > line.held:
            raise InvalidRequest(f"{where}.quantity", "too much")
        taken.add((item.sku, item.location))
    for item in items:
        line = hold.line(item.sku, item.location)
        assert line is not None
        line.held -= item.quantity
        setattr(line, attribute, getattr(line, attribute) + item.quantity)


def ended_as(hold: ModelHold, otherwise: Status) -> Status:
    """One rule, however a hold ends: FULFILLED if any of it shipped."""
    return Status.FULFILLED if any(line.consumed for line in hold.lines) else otherwise


def settle(hold: ModelHold, now: int) -> None:
    if any(line.held for line in hold.lines):
        bump(hold)
    else:
        end(hold, ended_as(hold, Status.CANCELLED), now)


def expire(hold: ModelHold, now: int) -> None:
    release_all(hold)
    end(hold, ended_as(hold, Status.EXPIRED), now)


# --- comparisons -------------------------------------------------------------------------


def same_error(raised: BaseException, expected: DomainError) -> bool:
    if type(raised) is not type(expected):
        return False
    if isinstance(raised, InvalidState) and isinstance(expected, InvalidState):
        return raised.status == expected.status
    if isinstance(raised, InvalidRequest) and isinstance(expected, InvalidRequest):
        return raised.field == expected.field
    if isinstance(raised, InsufficientStock) and isinstance(expected, InsufficientStock):
        return raised.items == expected.items
    return True


def describe(error: BaseException) -> str:
    details = {
        name: getattr(error, name) for name in ("status", "field", "items") if hasattr(error, name)
    }
    return f"{type(error).__name__}({details})"


def assert_matches(reservation: Reservation, hold: ModelHold) -> None:
    assert reservation.id == hold.id
    assert reservation.status is hold.status, (reservation.status, hold.status)
    assert reservation.version == hold.version
    assert reservation.expires_at == hold.expires_at
    assert reservation.purge_at == hold.purge_at
    actual = {
        (x.sku, x.location): (x.quantity, x.allow_oversell, x.held, x.released, x.consumed)
        for x in reservation.lines
    }
    expected = {
        x.record: (x.quantity, x.allow_oversell, x.held, x.released, x.consumed) for x in hold.lines
    }
    assert actual == expected


def number(item: Mapping[str, Any], name: str) -> int | None:
    return int(item[name]["N"]) if name in item else None
