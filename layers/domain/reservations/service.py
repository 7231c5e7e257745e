"""Use cases of the reservation API, independent of HTTP and Lambda."""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, replace

from ulid import ULID

from .clock import Clock
from .config import Settings
from .errors import (
    Contention,
    IdempotencyConflict,
    InsufficientStock,
    InvalidRequest,
    InvalidState,
    NotFound,
)
from .models import CreateReservationRequest
from .records import Inventory, Line, Reservation, Status, StockLevel
from .retry import RetryPolicy, with_retries
from .table import ReservationChanged, ReservationExists, ReservationTable, StockShort


@dataclass(frozen=True, slots=True)
class ReserveResult:
    reservation: Reservation
    created: bool  # False when an earlier identical request already created it


def fingerprint(request: CreateReservationRequest, channel: str) -> str:
    """Identity of a request body: same id + same fingerprint is a replay, not a new hold."""
    canonical = json.dumps(
        {"channel": channel, **request.model_dump(mode="json", exclude_none=False)},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


class ReservationService:
    def __init__(
        self,
        table: ReservationTable,
        clock: Clock,
        settings: Settings,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self._table = table
        self._clock = clock
        self._settings = settings
        self._retry = retry_policy or RetryPolicy()

    def _now(self) -> int:
        return int(self._clock.now())

    def reserve(self, request: CreateReservationRequest, channel: str) -> ReserveResult:
        now = self._now()
        expires_in = request.expiresInSeconds or self._settings.default_expires_in_seconds
        if expires_in > self._settings.max_expires_in_seconds:
            raise InvalidRequest(
                "body.expiresInSeconds",
                f"must be at most {self._settings.max_expires_in_seconds}",
            )
        # The record remembers which call created it, so a retry of this call that finds
        # its own committed write (the first response was lost) still answers 201.
        call_id = uuid.uuid4().hex
        reservation = Reservation(
            id=request.id or str(ULID()),
            status=Status.ACTIVE,
            channel=channel,
            order_id=request.orderId,
            lines=tuple(
                Line(item.sku, item.location, item.quantity, item.allowOversell, held=item.quantity)
                for item in request.items
            ),
            created_at=now,
            updated_at=now,
            expires_at=now + expires_in,
            fingerprint=fingerprint(request, channel),
            version=1,
            request_token=call_id,
        )
        # Kept long after expiry: releasing an expired hold never depends on TTL deletion.
        purge_at = reservation.expires_at + self._settings.hold_retention_seconds

        def attempt(token: str) -> ReserveResult:
            try:
                self._table.create_reservation(reservation, purge_at=purge_at, token=token)
            except ReservationExists as exists:
                existing = exists.existing
                if existing.fingerprint != reservation.fingerprint:
                    raise IdempotencyConflict(reservation.id) from None
                # The header alone answered the condition; the replay answers with the lines too.
                return ReserveResult(
                    self.get(reservation.id), created=existing.request_token == call_id
                )
            except StockShort as short:
                raise InsufficientStock(short.items) from None
            return ReserveResult(reservation, created=True)

        return with_retries(attempt, self._retry)

    def get(self, reservation_id: str) -> Reservation:
        reservation = self._table.get_reservation(reservation_id)
        if reservation is None:
            raise NotFound(f"reservation {reservation_id!r} does not exist")
        return reservation

    def cancel(self, reservation_id: str) -> Reservation:
        """Release everything still held. Cancelling a cancelled hold changes nothing."""
        for _ in range(self._retry.attempts):
            current = self.get(reservation_id)
            if current.status is Status.CANCELLED:
                return current
            if not current.is_live:
                raise InvalidState(reservation_id, current.status.value)
            now = self._now()

            def write(token: str, current: Reservation = current, now: int = now) -> None:
                self._table.cancel_reservation(
                    current,
                    now=now,
                    purge_at=now + self._settings.hold_retention_seconds,
                    token=token,
                )

            try:
                with_retries(write, self._retry)
            except ReservationChanged:
                # Someone moved it first (possibly our own attempt whose answer was lost).
                continue
            return replace(
                current,
                status=Status.CANCELLED,
                version=current.version + 1,
                updated_at=now,
                lines=tuple(
                    replace(line, held=0, released=line.released + line.held)
                    for line in current.lines
                ),
            )
        raise Contention(f"reservation {reservation_id!r} kept changing; try again")

    def inventory(self, sku: str) -> Inventory:
        inventory = self._table.get_inventory(sku)
        if not inventory.locations:
            raise NotFound(f"sku {sku!r} has no stock record")
        return inventory

    def set_on_hand(self, sku: str, location: str, on_hand: int) -> StockLevel:
        return self._table.set_on_hand(sku, location, on_hand, self._now())
