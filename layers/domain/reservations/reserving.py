"""Taking stock for a hold: a reserve, and a cart update whose lines grow, both all or
nothing under the reserve's guard (docs/architecture.md, "Why a transaction per reserve").

A refusal first looks for expired holds in its way (docs/architecture.md, "Expiry").
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ulid import ULID

from . import lifecycle
from .allocating import Allocating
from .clock import Clock
from .commands import CartChange, CartLine, ReserveLine, ReserveRequest
from .config import Settings
from .errors import (
    Contention,
    IdempotencyConflict,
    InsufficientStock,
    InvalidRequest,
    OversellLimit,
)
from .expiry import Expiry
from .idempotency import Remember
from .lifecycle import Retention
from .locations import Locations
from .records import Line, Reservation, Status
from .reserving_labels import LabelledLines
from .store import LabelsRefused, ReservationExists, StockShort, Store
from .store.bucket_reads import of_sharded_record
from .store.retry import SHARDED_RETRY, RetryPolicy, with_retries
from .transitions import Plan, Transitions

# Rounds of a reserve refused by a label's count or by a bucket of a sharded record.
PLACEMENTS = 18


@dataclass(frozen=True, slots=True)
class ReserveResult:
    reservation: Reservation
    created: bool  # False when an earlier identical request already created it


class Reserving:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: Settings,
        retry: RetryPolicy,
        transitions: Transitions,
        expiry: Expiry,
        locations: Locations,
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._retry = retry
        self._retention = Retention.from_settings(settings)
        self._transitions = transitions
        self._expiry = expiry
        self._locations = locations
        self._labelled = LabelledLines(store.labels)
        self.allocating = Allocating(
            self, store, locations, expiry, transitions, clock, self._retention
        )

    def _now(self) -> int:
        return int(self._clock.now())

    def expires_in(self, requested: int | None) -> int:
        expires_in = requested or self._settings.default_expires_in_seconds
        if expires_in > self._settings.max_expires_in_seconds:
            raise InvalidRequest(
                "body.expiresInSeconds", f"must be at most {self._settings.max_expires_in_seconds}"
            )
        return expires_in

    def reserve(
        self,
        request: ReserveRequest,
        channel: str,
        remember: Remember[ReserveResult] | None = None,
    ) -> ReserveResult:
        if request.needs_allocation:
            return self.allocating.reserve(request, channel, remember)
        self.note_oversold_locations(request.lines)
        now = self._now()
        lines = tuple(
            Line(
                x.sku, x.location, x.quantity, x.allow_oversell, held=x.quantity, granted=x.quantity
            )
            for x in request.lines
            if x.location is not None
        )
        reservation = self.draft(request, channel, lines, now, uuid.uuid4().hex)
        reservation = replace(reservation, lines=self._labelled.counted(reservation.lines, request))
        try:
            return self.write(reservation, remember, now)
        except StockShort as short:
            # An expired hold must never block a sale: release the ones on the short lines
            # that no sweep has reached yet, then try once more. Where nothing is reserved
            # there is no hold to look for, and the refusal costs its one request.
            if not short.held or not self._expiry.free_due_holds(short.held, now):
                raise self.refusal(request.lines, short) from None
        try:
            return self.write(reservation, remember, now)
        except StockShort as short:
            raise self.refusal(request.lines, short) from None

    def made_room(self, reservation_id: str, short: StockShort) -> bool:
        """For each short line on a sharded record, units moved into the line's bucket:
        True when every one now has what it asked (try again), False otherwise."""
        found = short.found.values()
        if not short.items or not all(of_sharded_record(item) for item in found):
            return False
        lines = {(x.sku, x.location): x for x in self._transitions.read(reservation_id).lines}
        for item in short.items:
            if item.location is None:
                return False
            line = lines.get((item.sku, item.location))
            bucket = 0 if line is None else line.bucket
            seen = self._store.shards.make_room(
                item.sku, item.location, item.requested, self._now(), target=bucket
            )
            if seen.available < item.requested:
                return False
        return True

    def note_oversold_locations(self, lines: Sequence[ReserveLine | CartLine]) -> None:
        """An allowOversell line may create the stock record of a never-stocked location:
        the location network must list it (as unregistered, if nobody registered it)."""
        for line in lines:
            if line.allow_oversell and line.location is not None:
                self._locations.note_stock_at(line.location)

    def draft(
        self,
        request: ReserveRequest,
        channel: str,
        lines: tuple[Line, ...],
        now: int,
        call_id: str,
    ) -> Reservation:
        """The hold a request makes, with these lines (as asked, or as allocated)."""
        expires_at = now + self.expires_in(request.expires_in_seconds)
        return Reservation(
            id=request.id or str(ULID()),
            status=Status.ACTIVE,
            channel=channel,
            order_id=request.order_id,
            lines=lines,
            created_at=now,
            updated_at=now,
            expires_at=expires_at,
            fingerprint=request.fingerprint(channel),
            version=1,
            # The record remembers which call created it, so a retry of this call that
            # finds its own committed write (the first response was lost) still answers 201.
            request_token=call_id,
            purge_at=self._retention.while_active(expires_at),
            ship_to=request.ship_to,
            shipping_choice=request.shipping_choice,
            pickup_at=request.pickup_at,
            allow_split=request.allow_split,
        )

    def write(
        self, reservation: Reservation, remember: Remember[ReserveResult] | None, now: int
    ) -> ReserveResult:
        """One reserve transaction (retried on conflicts). The id taken by an identical
        request is its replay; by another request, IdempotencyConflict. StockShort when a
        line lacks stock; a line refused by one bucket of a sharded record goes to another
        first (docs/architecture.md, "Sharded stock")."""
        placement = self._store.placement
        reservation = replace(reservation, lines=placement.place(reservation.lines))
        for _ in range(PLACEMENTS):
            try:
                return self._write_once(reservation, remember, now)
            except LabelsRefused as refused:
                # A label's quantity was not the one counted: count again and retry.
                reservation = self._labelled.recounted(reservation, refused)
            except StockShort as short:
                lines = placement.replace_short(reservation.lines, short, now)
                reservation = replace(reservation, lines=lines)
        raise Contention(f"the stock of reservation {reservation.id!r} kept changing")

    def _write_once(
        self, reservation: Reservation, remember: Remember[ReserveResult] | None, now: int
    ) -> ReserveResult:
        created = ReserveResult(reservation, created=True)
        remembered = None if remember is None else remember.item(created, now)
        placement = self._store.placement
        # A conflict on a sharded record is on one bucket: the next attempt goes to another
        # at once, with the sharded path's own retry policy (docs/architecture.md, "Sharded stock").
        sharded = placement.sharded(reservation.lines)
        tokens: list[str] = []

        def attempt(token: str) -> ReserveResult:
            nonlocal created, sharded
            if tokens and token != tokens[-1]:  # the last attempt conflicted: nothing written
                if not sharded:
                    sharded = placement.discover(created.reservation.lines)
                if sharded:
                    lines = placement.place(created.reservation.lines, elsewhere=True)
                    created = ReserveResult(replace(created.reservation, lines=lines), True)
            tokens.append(token)
            try:
                self._store.reservations.create(
                    created.reservation,
                    token=token,
                    oversell_limit=self._settings.max_oversell_per_record,
                    remembered=remembered,
                )
            except ReservationExists as exists:
                return self.replay(reservation, exists.existing)
            if remember is not None:
                remember.written = True
            return created

        return with_retries(attempt, SHARDED_RETRY if sharded else self._retry)

    def replay(self, reservation: Reservation, existing: Reservation) -> ReserveResult:
        """The answer to a request whose id is taken: the hold as it is, if the same
        request made it (201 still, if this very call did); else IdempotencyConflict."""
        if existing.fingerprint != reservation.fingerprint:
            raise IdempotencyConflict(reservation.id)
        # The header alone answered the condition; the replay answers with the lines.
        return ReserveResult(
            self._transitions.read(reservation.id),
            created=existing.request_token == reservation.request_token,
        )

    def refusal(
        self,
        lines: Sequence[ReserveLine | CartLine | Line],
        short: StockShort,
        origin: Sequence[int] | None = None,
    ) -> InsufficientStock:
        """The 409 for the refused lines: OversellLimit when an allowOversell line is among
        them (only the bound can refuse one), else InsufficientStock. ``origin`` gives each
        line's index in the request, for lines derived from the request's."""
        by_record = {
            (line.sku, line.location): (i if origin is None else origin[i], line)
            for i, line in enumerate(lines)
        }
        oversold = []
        for item in short.items:
            index, line = by_record[(item.sku, item.location)]
            if line.allow_oversell:
                oversold.append((index, item))
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
            seconds = self.expires_in(change.expires_in_seconds)
        if change.needs_allocation:
            return self.allocating.change_items(reservation_id, change, owner, remember, seconds)
        self.note_oversold_locations(change.lines)

        def plan(current: Reservation, now: int) -> Plan[Reservation]:
            after = lifecycle.change_items(
                current,
                change.lines,
                now,
                self._retention,
                expires_in=seconds,
                order_id=change.order_id,
            )
            return Plan(after, after)

        for _ in range(PLACEMENTS):
            try:
                return self._transitions.apply(reservation_id, plan, owner, remember)
            except StockShort as short:
                # A line that grows takes more from its own bucket: units are moved there.
                if self.made_room(reservation_id, short):
                    continue
                # As for a reserve: a due hold in the way is expired, then one more try.
                if not short.held or not self._expiry.free_due_holds(short.held, self._now()):
                    raise self.refusal(change.lines, short) from None
                break
        try:
            return self._transitions.apply(reservation_id, plan, owner, remember)
        except StockShort as short:
            raise self.refusal(change.lines, short) from None
