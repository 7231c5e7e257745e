"""Taking stock for a hold: a reserve, and a cart update whose lines grow, both all or
nothing under the reserve's guard (docs/architecture.md, "Why a transaction per reserve").

A refusal first looks for expired holds in its way (docs/architecture.md, "Expiry").
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from ulid import ULID

from . import lifecycle
from .clock import Clock
from .commands import CartChange, CartLine, ReserveLine, ReserveRequest
from .config import Settings
from .errors import IdempotencyConflict, InsufficientStock, InvalidRequest, OversellLimit
from .expiry import Expiry
from .idempotency import Remember
from .lifecycle import Retention
from .records import Line, Reservation, Status
from .store import ReservationExists, StockShort, Store
from .store.retry import RetryPolicy, with_retries
from .transitions import Plan, Transitions


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
    ) -> None:
        self._store = store
        self._clock = clock
        self._settings = settings
        self._retry = retry
        self._retention = Retention.from_settings(settings)
        self._transitions = transitions
        self._expiry = expiry

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
        now = self._now()
        expires_at = now + self.expires_in(request.expires_in_seconds)
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
                    self._transitions.read(reservation.id),
                    created=existing.request_token == call_id,
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
                raise self.refusal(request.lines, short) from None
        try:
            return with_retries(attempt, self._retry)
        except StockShort as short:
            raise self.refusal(request.lines, short) from None

    def refusal(
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
            seconds = self.expires_in(change.expires_in_seconds)

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

        try:
            return self._transitions.apply(reservation_id, plan, owner, remember)
        except StockShort as short:
            # As for a reserve: a due hold in the way is expired, then one more try.
            if not short.held or not self._expiry.free_due_holds(short.held, self._now()):
                raise self.refusal(change.lines, short) from None
        try:
            return self._transitions.apply(reservation_id, plan, owner, remember)
        except StockShort as short:
            raise self.refusal(change.lines, short) from None
