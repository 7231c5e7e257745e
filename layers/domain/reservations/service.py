"""Use cases of the reservation service, independent of HTTP and Lambda."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from ulid import ULID

from . import lifecycle
from .clock import Clock
from .config import Settings
from .errors import (
    IdempotencyConflict,
    InsufficientStock,
    InvalidRequest,
    InvalidState,
    NotFound,
    OversellLimit,
)
from .lifecycle import LineQuantity, Retention
from .models import CreateReservationRequest
from .records import Hold, Inventory, Line, Reservation, Status, StockLevel
from .retry import RetryPolicy, with_retries
from .table import ReservationExists, ReservationTable, StockShort
from .transitions import Plan, Transitions

Transition = Callable[[Reservation, int], Reservation]


@dataclass(frozen=True, slots=True)
class ReserveResult:
    reservation: Reservation
    created: bool  # False when an earlier identical request already created it


@dataclass(slots=True)
class SweepReport:
    due: int = 0
    expired: list[str] = field(default_factory=list)
    skipped: int = 0  # confirmed, extended or ended by someone else first


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
        self._retention = Retention.from_settings(settings)
        self._transitions = Transitions(table, clock, self._retry)

    def _now(self) -> int:
        return int(self._clock.now())

    def _expires_in(self, requested: int | None) -> int:
        expires_in = requested or self._settings.default_expires_in_seconds
        if expires_in > self._settings.max_expires_in_seconds:
            raise InvalidRequest(
                "body.expiresInSeconds", f"must be at most {self._settings.max_expires_in_seconds}"
            )
        return expires_in

    # --- reserve -------------------------------------------------------------------------

    def reserve(self, request: CreateReservationRequest, channel: str) -> ReserveResult:
        now = self._now()
        expires_at = now + self._expires_in(request.expiresInSeconds)
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
            expires_at=expires_at,
            fingerprint=fingerprint(request, channel),
            version=1,
            request_token=call_id,
            purge_at=self._retention.while_active(expires_at),
        )

        def attempt(token: str) -> ReserveResult:
            try:
                self._table.create_reservation(
                    reservation, token=token, oversell_limit=self._settings.max_oversell_per_record
                )
            except ReservationExists as exists:
                existing = exists.existing
                if existing.fingerprint != reservation.fingerprint:
                    raise IdempotencyConflict(reservation.id) from None
                # The header alone answered the condition; the replay answers with the lines.
                return ReserveResult(
                    self.get(reservation.id), created=existing.request_token == call_id
                )
            return ReserveResult(reservation, created=True)

        try:
            return with_retries(attempt, self._retry)
        except StockShort as short:
            # An expired hold must never block a sale: release the ones on the short lines
            # that no sweep has reached yet, then try once more. Where nothing is reserved
            # there is no hold to look for, and the refusal costs its one request.
            if not short.held or not self._free_expired_holds(short.held, now):
                raise self._refusal(reservation, short) from None
        try:
            return with_retries(attempt, self._retry)
        except StockShort as short:
            raise self._refusal(reservation, short) from None

    def _refusal(self, reservation: Reservation, short: StockShort) -> InsufficientStock:
        """The 409 for the refused lines: OversellLimit when an allowOversell line is among
        them (only the bound can refuse one), else InsufficientStock."""
        index = {(line.sku, line.location): i for i, line in enumerate(reservation.lines)}
        oversold = [
            (index[(item.sku, item.location)], item)
            for item in short.items
            if reservation.lines[index[(item.sku, item.location)]].allow_oversell
        ]
        if not oversold:
            return InsufficientStock(short.items)
        return OversellLimit(short.items, oversold, self._settings.max_oversell_per_record)

    def _free_expired_holds(
        self, reserved_when_refused: dict[tuple[str, str], int], now: int
    ) -> bool:
        """Expire the due holds on the refused records; True if stock may have come back
        since the refusal, so that trying again is worth its request.

        That is the case when a due hold was found (whoever expires it: this call, another
        reserve or the sweeper), or when the live holds now hold less than was reserved at
        the refusal (someone released or expired a hold in between, so the index no longer
        shows it). Otherwise every reserved unit belongs to a live hold: the refusal stands.
        """
        due: set[str] = set()
        live: dict[tuple[str, str], int] = {}
        for sku in {sku for sku, _ in reserved_when_refused}:
            for hold in self._table.holds_on_sku(sku):
                record = (sku, hold.line.location)
                if record not in reserved_when_refused:
                    continue
                if hold.is_live_at(now):
                    live[record] = live.get(record, 0) + hold.line.held
                else:
                    due.add(hold.reservation_id)
        for reservation_id in due:
            self._expire_one(reservation_id, now)
        return bool(due) or any(
            live.get(record, 0) < reserved for record, reserved in reserved_when_refused.items()
        )

    # --- reads ---------------------------------------------------------------------------

    def get(self, reservation_id: str, owner: str | None = None) -> Reservation:
        """The reservation; with ``owner``, only if that channel holds it: another channel's
        hold is NotFound with the very message of one that does not exist."""
        return self._transitions.read(reservation_id, owner)

    def status_of(self, reservation: Reservation) -> Status:
        return reservation.status_at(self._now())

    def holds_on_sku(self, sku: str, owner: str | None = None) -> list[Hold]:
        """Live holds on a sku (of ``owner``'s channel only, when given); an ACTIVE hold past
        its expiry is no longer live."""
        now = self._now()
        return [
            hold
            for hold in self._table.holds_on_sku(sku)
            if hold.is_live_at(now) and (owner is None or hold.channel == owner)
        ]

    def inventory(self, sku: str) -> Inventory:
        inventory = self._table.get_inventory(sku)
        if not inventory.locations:
            raise NotFound(f"sku {sku!r} has no stock record")
        return inventory

    # --- transitions ---------------------------------------------------------------------

    def _transition(
        self, reservation_id: str, step: Transition, owner: str | None = None
    ) -> Reservation:
        def plan(current: Reservation, now: int) -> Plan[Reservation]:
            after = step(current, now)
            return Plan(after, after)

        return self._transitions.apply(reservation_id, plan, owner)

    def confirm(self, reservation_id: str, owner: str | None = None) -> Reservation:
        def step(current: Reservation, now: int) -> Reservation:
            if current.status is Status.CONFIRMED:
                return current  # confirming twice changes nothing
            return lifecycle.confirm(current, now)

        return self._transition(reservation_id, step, owner)

    def extend(self, reservation_id: str, expires_in: int, owner: str | None = None) -> Reservation:
        seconds = self._expires_in(expires_in)
        return self._transition(
            reservation_id,
            lambda current, now: lifecycle.extend(current, now, seconds, self._retention),
            owner,
        )

    def release(
        self, reservation_id: str, items: Iterable[LineQuantity], owner: str | None = None
    ) -> Reservation:
        wanted = list(items)
        return self._transition(
            reservation_id,
            lambda current, now: lifecycle.release(current, wanted, now, self._retention),
            owner,
        )

    def fulfill(
        self,
        reservation_id: str,
        items: Iterable[LineQuantity] | None,
        owner: str | None = None,
    ) -> Reservation:
        wanted = None if items is None else list(items)
        return self._transition(
            reservation_id,
            lambda current, now: lifecycle.fulfill(current, wanted, now, self._retention),
            owner,
        )

    def cancel(self, reservation_id: str, owner: str | None = None) -> Reservation:
        """Release everything still held. Cancelling a cancelled hold changes nothing."""

        def step(current: Reservation, now: int) -> Reservation:
            if current.status is Status.CANCELLED:
                return current
            return lifecycle.cancel(current, now, self._retention)

        return self._transition(reservation_id, step, owner)

    # --- expiry --------------------------------------------------------------------------

    def _expire_one(self, reservation_id: str, now: int) -> bool:
        """Expire one due hold; False when a confirm, extend or end won the race."""
        try:
            self._transition(
                reservation_id, lambda current, _: lifecycle.expire(current, now, self._retention)
            )
        except (InvalidState, NotFound):
            return False
        return True

    def sweep(self, out_of_time: Callable[[], bool] = lambda: False) -> SweepReport:
        """Release every ACTIVE hold that is due, each in its own conditional transaction,
        so a sweeper racing a confirm, an extend or another sweeper leaves one winner.

        Due holds are taken in batches, several at a time, until none is left or
        ``out_of_time()`` says to stop (the next scheduled run takes the rest).
        """
        now = self._now()
        report = SweepReport()
        with ThreadPoolExecutor(max_workers=self._settings.sweep_concurrency) as pool:
            # At least one round, however little time is left: a run must make progress.
            while report.due == 0 or not out_of_time():
                due = self._table.due_reservation_ids(now, limit=self._settings.sweep_batch_limit)
                if not due:
                    break
                report.due += len(due)
                for reservation_id, expired in zip(
                    due, pool.map(lambda rid: self._expire_one(rid, now), due), strict=True
                ):
                    if expired:
                        report.expired.append(reservation_id)
                    else:
                        report.skipped += 1
                if len(due) < self._settings.sweep_batch_limit or report.skipped == report.due:
                    break  # everything due was seen; what was skipped is not ours to expire
        return report

    # --- stock ---------------------------------------------------------------------------

    def set_on_hand(self, sku: str, location: str, on_hand: int) -> StockLevel:
        return self._table.set_on_hand(sku, location, on_hand, self._now())

    def settle_purged_line(
        self, reservation_id: str, line: Line, status: Status, created_at: int = 0
    ) -> bool:
        """The stream backstop: TTL deleted a line that still held stock. True if it
        gave stock back now, False if there was nothing to give or it was done already."""
        if line.held <= 0 or status not in (Status.ACTIVE, Status.CONFIRMED):
            return False
        now = self._now()
        return with_retries(
            lambda _: self._table.settle_purged_line(
                reservation_id, line, now, self._retention.after_end(now), created_at
            ),
            self._retry,
        )
