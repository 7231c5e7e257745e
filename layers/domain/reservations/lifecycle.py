"""The life of a hold as pure functions: the state before and a request in, the state after
out. The transitions and the rule that names how a hold ended are drawn in
docs/architecture.md, "The life of a hold"; :mod:`reservations.transitions` writes each
step once, conditioned on the version it was planned from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from . import label_lines
from .commands import CartLine
from .config import MAX_LINES, Settings
from .errors import InvalidRequest, InvalidState, LabelNotHeld
from .records import Change, Line, Reservation, Status, end_status


@dataclass(frozen=True, slots=True)
class Retention:
    """How long records are kept once DynamoDB TTL may remove them."""

    ended_seconds: int  # after a hold ends (cancelled, fulfilled, expired)
    expiry_grace_seconds: int  # after an ACTIVE hold's expiry: the sweeper's head start

    @classmethod
    def from_settings(cls, settings: Settings) -> Retention:
        return cls(
            ended_seconds=settings.hold_retention_seconds,
            expiry_grace_seconds=settings.expiry_grace_seconds,
        )

    def while_active(self, expires_at: int) -> int:
        return expires_at + self.expiry_grace_seconds

    def after_end(self, now: int) -> int:
        return now + self.ended_seconds


@dataclass(frozen=True, slots=True)
class LineQuantity:
    sku: str
    location: str
    quantity: int
    labels: tuple[str, ...] | None = None  # what shipped came off these labels


def _require(reservation: Reservation, now: int, *allowed: Status) -> None:
    current = reservation.status_at(now)
    if current not in allowed:
        raise InvalidState(reservation.id, current.value)


def _next(reservation: Reservation, now: int, change: Change, **changes: object) -> Reservation:
    return replace(
        reservation,
        version=reservation.version + 1,
        updated_at=now,
        change=change,
        **changes,  # type: ignore[arg-type]
    )


def _ended(
    reservation: Reservation,
    status: Status,
    lines: tuple[Line, ...],
    now: int,
    retention: Retention,
    change: Change,
) -> Reservation:
    return _next(
        reservation, now, change, status=status, lines=lines, purge_at=retention.after_end(now)
    )


def confirm(reservation: Reservation, now: int) -> Reservation:
    """Payment approved: the hold stops expiring (VTEX "confirmed")."""
    _require(reservation, now, Status.ACTIVE)
    return _next(reservation, now, Change.CONFIRMED, status=Status.CONFIRMED, purge_at=None)


def extend(
    reservation: Reservation, now: int, expires_in: int, retention: Retention
) -> Reservation:
    _require(reservation, now, Status.ACTIVE)
    expires_at = now + expires_in
    return _next(
        reservation,
        now,
        Change.EXTENDED,
        expires_at=expires_at,
        purge_at=retention.while_active(expires_at),
    )


def _release_all(reservation: Reservation) -> tuple[Line, ...]:
    return tuple(label_lines.release_whole(x) for x in reservation.lines)


def cancel(reservation: Reservation, now: int, retention: Retention) -> Reservation:
    _require(reservation, now, Status.ACTIVE, Status.CONFIRMED)
    lines = _release_all(reservation)
    status = end_status(lines, Status.CANCELLED)
    return _ended(reservation, status, lines, now, retention, Change.CANCELLED)


def expire(reservation: Reservation, now: int, retention: Retention) -> Reservation:
    """The sweeper's transition: only an ACTIVE hold that is due."""
    if reservation.status is not Status.ACTIVE or reservation.expires_at > now:
        raise InvalidState(reservation.id, reservation.status_at(now).value)
    lines = _release_all(reservation)
    status = end_status(lines, Status.EXPIRED)
    return _ended(reservation, status, lines, now, retention, Change.EXPIRED)


def _take(
    reservation: Reservation, requested: Iterable[LineQuantity], field: str
) -> tuple[Line, ...]:
    """Lines after moving the requested quantities from ``held`` to ``field``."""
    taken: dict[tuple[str, str], int] = {}
    named: dict[tuple[str, str], tuple[str, tuple[str, ...] | None]] = {}
    for index, item in enumerate(requested):
        where = f"body.items[{index}]"
        line = reservation.line(item.sku, item.location)
        if line is None:
            raise InvalidRequest(
                where, f"reservation has no line for sku {item.sku!r} at {item.location!r}"
            )
        key = (item.sku, item.location)
        if key in taken:
            raise InvalidRequest(where, "repeats a line; send one entry per (sku, location)")
        if item.quantity > line.held:
            raise InvalidRequest(
                f"{where}.quantity",
                f"{item.quantity} exceeds the {line.held} still held on this line",
            )
        if item.labels is not None and field == "released":
            raise InvalidRequest(
                f"{where}.labels", "release a label with POST .../labels/{label}/release"
            )
        if item.labels is not None and not line.labels:
            raise InvalidRequest(f"{where}.labels", "this line holds no labels")
        if line.labels and field == "released" and item.quantity != line.held:
            raise InvalidRequest(
                f"{where}.quantity",
                f"a line of labels is released whole ({line.held}) or label by label",
            )
        taken[key] = item.quantity
        named[key] = (where, item.labels)
    lines = []
    for line in reservation.lines:
        key = (line.sku, line.location)
        quantity = taken.get(key, 0)
        if quantity and line.labels:
            where, labels = named[key]
            if field == "consumed":
                line = label_lines.ship(line, quantity, labels, where)
            else:
                line = label_lines.release_whole(line)
        elif quantity:
            line = replace(
                line, held=line.held - quantity, **{field: getattr(line, field) + quantity}
            )
        lines.append(line)
    return tuple(lines)


def _settle(
    reservation: Reservation,
    lines: tuple[Line, ...],
    now: int,
    retention: Retention,
    change: Change,
) -> Reservation:
    """A hold with nothing left held ends: FULFILLED if anything shipped, else CANCELLED."""
    if any(line.held for line in lines):
        return _next(reservation, now, change, lines=lines)
    status = end_status(lines, Status.CANCELLED)
    return _ended(reservation, status, lines, now, retention, change)


def release(
    reservation: Reservation, items: Iterable[LineQuantity], now: int, retention: Retention
) -> Reservation:
    """Give back part of a hold (Dynamics' unreserve)."""
    _require(reservation, now, Status.ACTIVE, Status.CONFIRMED)
    lines = _take(reservation, items, "released")
    return _settle(reservation, lines, now, retention, Change.RELEASED)


def release_label(
    reservation: Reservation, label: str, now: int, retention: Retention
) -> Reservation:
    """One label goes back to stock whole (LabelNotHeld if the hold does not hold it)."""
    _require(reservation, now, Status.ACTIVE, Status.CONFIRMED)
    if not any(line.holds_label(label) for line in reservation.lines):
        raise LabelNotHeld([label])
    lines = tuple(
        label_lines.release_label(x, label) if x.holds_label(label) else x
        for x in reservation.lines
    )
    return _settle(reservation, lines, now, retention, Change.RELEASED)


def fulfill(
    reservation: Reservation, items: Iterable[LineQuantity] | None, now: int, retention: Retention
) -> Reservation:
    """The goods ship: held quantity leaves stock. Without items, everything still held."""
    _require(reservation, now, Status.ACTIVE, Status.CONFIRMED)
    if items is None:
        items = [LineQuantity(x.sku, x.location, x.held) for x in reservation.lines if x.held]
        if not items:
            raise InvalidState(reservation.id, reservation.status.value)
    lines = _take(reservation, items, "consumed")
    return _settle(reservation, lines, now, retention, Change.FULFILLED)


@dataclass(frozen=True, slots=True)
class Offset:
    """What an ERP offset did to one hold: the state after, and how much it covered."""

    reservation: Reservation
    applied: int


def offset(
    reservation: Reservation,
    sku: str,
    location: str,
    quantity: int,
    deduct_on_hand: bool,
    now: int,
    retention: Retention,
) -> Offset:
    """The ERP took over up to ``quantity`` of a line (Dynamics' offset).

    Only what is still held can be offset; a hold that is no longer live covers nothing
    (``applied == 0``, the reservation unchanged). With ``deduct_on_hand`` the goods left
    physical stock too (like a shipment); without it they only stop being reserved here.
    """
    line = reservation.line(sku, location)
    if line is None:
        raise InvalidRequest(
            "location", f"reservation {reservation.id!r} has no line for {sku!r} at {location!r}"
        )
    if not reservation.is_live_at(now):
        return Offset(reservation, 0)
    applied = min(quantity, line.held)
    if applied == 0:
        return Offset(reservation, 0)
    if line.labels:
        return Offset(
            _settle(
                reservation,
                _offset_labels(reservation, line, applied, deduct_on_hand),
                now,
                retention,
                Change.OFFSET,
            ),
            applied,
        )
    moved = "consumed" if deduct_on_hand else "released"
    lines = tuple(
        replace(
            x,
            held=x.held - applied,
            offset=x.offset + applied,
            **{moved: getattr(x, moved) + applied},
        )
        if x is line
        else x
        for x in reservation.lines
    )
    return Offset(_settle(reservation, lines, now, retention, Change.OFFSET), applied)


def _offset_labels(
    reservation: Reservation, line: Line, applied: int, deduct_on_hand: bool
) -> tuple[Line, ...]:
    """A line of labels is settled whole by an offset: what it covers ships from the labels
    (with ``deduct_on_hand``) or is released with them, and the rest goes back to them."""
    if deduct_on_hand:
        after = label_lines.ship(line, applied, None, "offset")
    else:
        after = label_lines.release_whole(line)
    after = replace(after, offset=line.offset + applied)
    return tuple(after if x is line else x for x in reservation.lines)


def change_items(
    reservation: Reservation,
    cart: Sequence[CartLine],
    now: int,
    retention: Retention,
    *,
    expires_in: int | None = None,
    order_id: str | None = None,
) -> Reservation:
    """The hold follows the cart: lines that grow take more, lines that shrink or leave it
    give stock back, new lines are added. Shipped goods stay shipped: a line cannot ask for
    less than it consumed. The very reservation when nothing changes."""
    _require(reservation, now, Status.ACTIVE, Status.CONFIRMED)
    if any(line.labels for line in reservation.lines):
        raise InvalidRequest(
            "body.items", "a hold on labels changes label by label: release them, or cancel it"
        )
    wanted: dict[tuple[str, str], tuple[int, CartLine]] = {}
    for index, item in enumerate(cart):
        if item.location is None:  # allocation places such lines before they come here
            raise ValueError(f"cart line {index} has no location")
        wanted[(item.sku, item.location)] = (index, item)
    # A sku the cart names by location is the client's to place from now on: its lines that
    # leave the cart are no longer parts of an allocated line either.
    named = {item.sku for item in cart if item.location is not None and not item.allocated}
    lines = []
    for line in reservation.lines:
        found = wanted.pop((line.sku, line.location), None)
        if found is None and line.sku in named:
            line = replace(line, allocated=False)
        lines.append(_follow(line, found))
    lines += [
        Line(
            item.sku,
            location,
            item.quantity,
            item.allow_oversell,
            held=item.quantity,
            allocated=item.allocated,
            site=item.site,
        )
        for (_, location), (_, item) in sorted(wanted.items(), key=lambda found: found[1][0])
    ]
    if len(lines) > MAX_LINES:
        raise InvalidRequest(
            "body.items", f"a hold has at most {MAX_LINES} lines, old ones included"
        )
    changes: dict[str, object] = {}
    if order_id is not None and order_id != reservation.order_id:
        changes["order_id"] = order_id
    if expires_in is not None:
        if reservation.status is Status.CONFIRMED:
            raise InvalidRequest("body.expiresInSeconds", "a confirmed hold does not expire")
        expires_at = now + expires_in
        changes |= {"expires_at": expires_at, "purge_at": retention.while_active(expires_at)}
    if tuple(lines) == reservation.lines and not changes:
        return reservation
    after = _settle(reservation, tuple(lines), now, retention, Change.CHANGED)
    return replace(after, **changes) if after.is_live else after  # type: ignore[arg-type]


def _follow(line: Line, wanted: tuple[int, CartLine] | None) -> Line:
    """One existing line after the cart: it holds what the cart asks beyond what shipped."""
    if wanted is None:
        return replace(line, quantity=line.consumed, held=0, released=line.released + line.held)
    index, item = wanted
    target = item.quantity - line.consumed
    if target < 0:
        raise InvalidRequest(
            f"body.items[{index}].quantity",
            f"{item.quantity} is less than the {line.consumed} already shipped on this line",
        )
    if target >= line.held:
        grown = target - line.held
        return replace(
            line,
            quantity=item.quantity,
            allow_oversell=item.allow_oversell,
            held=target,
            granted=line.taken + grown,
            allocated=item.allocated,
        )
    return replace(
        line,
        quantity=item.quantity,
        allow_oversell=item.allow_oversell,
        held=target,
        released=line.released + line.held - target,
        allocated=item.allocated,
    )
