"""Use cases of the reservation service, independent of HTTP and Lambda."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ulid import ULID

from . import lifecycle
from .clock import Clock
from .commands import CartChange, CartLine, ReserveLine, ReserveRequest, SetThreshold
from .config import Settings
from .errors import (
    Contention,
    IdempotencyConflict,
    InsufficientStock,
    InvalidRequest,
    NotFound,
    OversellLimit,
    PreconditionFailed,
)
from .expiry import Expiry, SweepReport
from .idempotency import Remember
from .lifecycle import LineQuantity, Retention
from .records import HeldLine, Inventory, Line, Reservation, Status, StockLevel
from .search import Search
from .store import IdempotencyStore, ReservationExists, StockShort, Store
from .store.retry import RetryPolicy, with_retries
from .store.stock import ANY_VERSION, VersionMismatch
from .transitions import Plan, Transitions

__all__ = ["ANY_VERSION", "ReservationService", "ReserveResult", "SweepReport"]

Transition = Callable[[Reservation, int], Reservation]


@dataclass(frozen=True, slots=True)
class ReserveResult:
    reservation: Reservation
    created: bool  # False when an earlier identical request already created it


class ReservationService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: Settings,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._retry = retry_policy or RetryPolicy()
        self._retention = Retention.from_settings(settings)
        self._transitions = Transitions(store, clock, self._retry, settings.max_oversell_per_record)
        self._expiry = Expiry(store, self._transitions, settings, clock)
        self.search = Search(store, clock, settings.page_token_secret)

    def _now(self) -> int:
        return int(self._clock.now())

    def now(self) -> int:
        return self._now()

    @property
    def idempotency_keys(self) -> IdempotencyStore:
        return self._store.idempotency

    def _expires_in(self, requested: int | None) -> int:
        expires_in = requested or self._settings.default_expires_in_seconds
        if expires_in > self._settings.max_expires_in_seconds:
            raise InvalidRequest(
                "body.expiresInSeconds", f"must be at most {self._settings.max_expires_in_seconds}"
            )
        return expires_in

    # --- reserve -------------------------------------------------------------------------

    def reserve(
        self,
        request: ReserveRequest,
        channel: str,
        remember: Remember[ReserveResult] | None = None,
    ) -> ReserveResult:
        now = self._now()
        expires_at = now + self._expires_in(request.expires_in_seconds)
        # The record remembers which call created it, so a retry of this call that finds
        # its own committed write (the first response was lost) still answers 201.
        call_id = uuid.uuid4().hex
        reservation = Reservation(
            id=request.id or str(ULID()),
            status=Status.ACTIVE,
            channel=channel,
            order_id=request.order_id,
            lines=tuple(
                Line(x.sku, x.location, x.quantity, x.allow_oversell, held=x.quantity)
                for x in request.lines
            ),
            created_at=now,
            updated_at=now,
            expires_at=expires_at,
            fingerprint=request.fingerprint(channel),
            version=1,
            request_token=call_id,
            purge_at=self._retention.while_active(expires_at),
        )

        created = ReserveResult(reservation, created=True)
        remembered = None if remember is None else remember.item(created, now)

        def attempt(token: str) -> ReserveResult:
            try:
                self._store.reservations.create(
                    reservation,
                    token=token,
                    oversell_limit=self._settings.max_oversell_per_record,
                    remembered=remembered,
                )
            except ReservationExists as exists:
                existing = exists.existing
                if existing.fingerprint != reservation.fingerprint:
                    raise IdempotencyConflict(reservation.id) from None
                # The header alone answered the condition; the replay answers with the lines.
                return ReserveResult(
                    self.get(reservation.id), created=existing.request_token == call_id
                )
            if remember is not None:
                remember.written = True
            return created

        try:
            return with_retries(attempt, self._retry)
        except StockShort as short:
            # An expired hold must never block a sale: release the ones on the short lines
            # that no sweep has reached yet, then try once more. Where nothing is reserved
            # there is no hold to look for, and the refusal costs its one request.
            if not short.held or not self._expiry.free_due_holds(short.held, now):
                raise self._refusal(request.lines, short) from None
        try:
            return with_retries(attempt, self._retry)
        except StockShort as short:
            raise self._refusal(request.lines, short) from None

    def _refusal(
        self, lines: Sequence[ReserveLine | CartLine], short: StockShort
    ) -> InsufficientStock:
        """The 409 for the refused lines: OversellLimit when an allowOversell line is among
        them (only the bound can refuse one), else InsufficientStock."""
        index = {(line.sku, line.location): i for i, line in enumerate(lines)}
        oversold = [
            (index[(item.sku, item.location)], item)
            for item in short.items
            if lines[index[(item.sku, item.location)]].allow_oversell
        ]
        if not oversold:
            return InsufficientStock(short.items)
        return OversellLimit(short.items, oversold, self._settings.max_oversell_per_record)

    def change_items(
        self,
        reservation_id: str,
        change: CartChange,
        owner: str | None = None,
        remember: Remember[Reservation] | None = None,
    ) -> Reservation:
        """The hold follows the whole cart, in one transaction conditioned on the version
        read: all of it, or (409, the short lines) none of it."""
        seconds = None
        if change.expires_in_seconds is not None:
            seconds = self._expires_in(change.expires_in_seconds)

        def step(current: Reservation, now: int) -> Reservation:
            return lifecycle.change_items(
                current,
                change.lines,
                now,
                self._retention,
                expires_in=seconds,
                order_id=change.order_id,
            )

        try:
            return self._transition(reservation_id, step, owner, remember)
        except StockShort as short:
            # As for a reserve: a due hold in the way is expired, then one more try.
            if not short.held or not self._expiry.free_due_holds(short.held, self._now()):
                raise self._refusal(change.lines, short) from None
        try:
            return self._transition(reservation_id, step, owner, remember)
        except StockShort as short:
            raise self._refusal(change.lines, short) from None

    # --- reads ---------------------------------------------------------------------------

    def get(self, reservation_id: str, owner: str | None = None) -> Reservation:
        """The reservation; with ``owner``, only if that channel holds it: another channel's
        hold is NotFound with the very message of one that does not exist."""
        return self._transitions.read(reservation_id, owner)

    def status_of(self, reservation: Reservation) -> Status:
        return reservation.status_at(self._now())

    def holds_on_sku(self, sku: str, owner: str | None = None) -> list[HeldLine]:
        """Live holds on a sku (of ``owner``'s channel only, when given); an ACTIVE hold past
        its expiry is no longer live."""
        now = self._now()
        return [
            hold
            for hold in self._store.reservations.holds_on_sku(sku)
            if hold.is_live_at(now) and (owner is None or hold.channel == owner)
        ]

    def inventory(self, sku: str) -> Inventory:
        inventory = self._store.stock.get_inventory(sku)
        if not inventory.locations:
            raise NotFound(f"sku {sku!r} has no stock record")
        return inventory

    # --- transitions ---------------------------------------------------------------------

    def _transition(
        self,
        reservation_id: str,
        step: Transition,
        owner: str | None = None,
        remember: Remember[Reservation] | None = None,
    ) -> Reservation:
        def plan(current: Reservation, now: int) -> Plan[Reservation]:
            after = step(current, now)
            return Plan(after, after)

        return self._transitions.apply(reservation_id, plan, owner, remember)

    def confirm(
        self,
        reservation_id: str,
        owner: str | None = None,
        remember: Remember[Reservation] | None = None,
    ) -> Reservation:
        def step(current: Reservation, now: int) -> Reservation:
            if current.status is Status.CONFIRMED:
                return current  # confirming twice changes nothing
            return lifecycle.confirm(current, now)

        return self._transition(reservation_id, step, owner, remember)

    def extend(
        self,
        reservation_id: str,
        expires_in: int,
        owner: str | None = None,
        remember: Remember[Reservation] | None = None,
    ) -> Reservation:
        seconds = self._expires_in(expires_in)
        return self._transition(
            reservation_id,
            lambda current, now: lifecycle.extend(current, now, seconds, self._retention),
            owner,
            remember,
        )

    def release(
        self,
        reservation_id: str,
        items: Iterable[LineQuantity],
        owner: str | None = None,
        remember: Remember[Reservation] | None = None,
    ) -> Reservation:
        wanted = list(items)
        return self._transition(
            reservation_id,
            lambda current, now: lifecycle.release(current, wanted, now, self._retention),
            owner,
            remember,
        )

    def fulfill(
        self,
        reservation_id: str,
        items: Iterable[LineQuantity] | None,
        owner: str | None = None,
        remember: Remember[Reservation] | None = None,
    ) -> Reservation:
        wanted = None if items is None else list(items)
        return self._transition(
            reservation_id,
            lambda current, now: lifecycle.fulfill(current, wanted, now, self._retention),
            owner,
            remember,
        )

    def cancel(
        self,
        reservation_id: str,
        owner: str | None = None,
        remember: Remember[Reservation] | None = None,
    ) -> Reservation:
        """Release everything still held. Cancelling a cancelled hold changes nothing."""

        def step(current: Reservation, now: int) -> Reservation:
            if current.status is Status.CANCELLED:
                return current
            return lifecycle.cancel(current, now, self._retention)

        return self._transition(reservation_id, step, owner, remember)

    def sweep(self, out_of_time: Callable[[], bool] = lambda: False) -> SweepReport:
        """Expire every due hold (see :class:`reservations.expiry.Expiry`)."""
        return self._expiry.sweep(out_of_time)

    # --- stock ---------------------------------------------------------------------------

    def stock_level(self, sku: str, location: str) -> StockLevel:
        level = self._store.stock.get_level(sku, location)
        if level is None:
            raise NotFound(f"sku {sku!r} has no stock record at {location!r}")
        return level

    def set_on_hand(
        self,
        sku: str,
        location: str,
        on_hand: int,
        expected_versions: tuple[int, ...] | None = None,
        remember: Remember[StockLevel] | None = None,
        threshold: SetThreshold | None = None,
    ) -> StockLevel:
        """Absolute physical stock; holds are kept. ``expected_versions`` makes it a
        compare-and-set: the record must be at one of them (ANY_VERSION: exist; none: never
        matches), else PreconditionFailed with the record as it is. ``threshold`` sets or
        clears the record's low-stock threshold; None keeps it."""
        stock = self._store.stock
        if expected_versions == ():
            raise PreconditionFailed(stock.get_level(sku, location))
        if remember is None:
            try:
                return stock.set_on_hand(
                    sku,
                    location,
                    on_hand,
                    self._now(),
                    expected_version=expected_versions,
                    threshold=threshold,
                )
            except VersionMismatch as moved:
                raise PreconditionFailed(moved.current) from None
        # The answer is written with the effect, so it is computed first, from a read.
        for _ in range(self._retry.attempts):
            before = stock.get_level(sku, location)
            found = 0 if before is None else before.version
            if expected_versions is not None:
                anything = ANY_VERSION in expected_versions and before is not None
                if not anything and found not in expected_versions:
                    raise PreconditionFailed(before)
            now = self._now()
            reserved = 0 if before is None else before.reserved
            kept = None if before is None else before.low_stock_threshold
            after = StockLevel(sku, location, on_hand, reserved, on_hand - reserved, now, found + 1)
            after = replace(
                after, low_stock_threshold=kept if threshold is None else threshold.value
            )
            remembered = remember.item(after, now)

            def write(
                token: str,
                before: StockLevel | None = before,
                after: StockLevel = after,
                remembered: dict[str, Any] = remembered,
            ) -> None:
                stock.set_on_hand_with(before, after, remembered, token=token, threshold=threshold)

            try:
                with_retries(write, self._retry)
            except VersionMismatch:
                continue  # a hold or another write moved it since the read: read again
            remember.written = True
            return after
        raise Contention(f"stock {sku!r} at {location!r} kept changing; try again")

    def settle_purged_line(
        self, reservation_id: str, line: Line, status: Status, created_at: int = 0
    ) -> bool:
        """The stream backstop: TTL deleted a line that still held stock. True if it
        gave stock back now, False if there was nothing to give or it was done already."""
        if line.held <= 0 or status not in (Status.ACTIVE, Status.CONFIRMED):
            return False
        now = self._now()
        return with_retries(
            lambda _: self._store.purged_lines.settle(
                reservation_id, line, now, self._retention.after_end(now), created_at
            ),
            self._retry,
        )
