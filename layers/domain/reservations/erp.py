"""The ERP's messages applied to stock and holds, each exactly once.

``stock.set`` is guarded by the ERP's sequence; ``stock.adjust`` and
``reservation.offset`` write a receipt in the transaction of their effect, so a message
SQS delivers twice, or a batch retried after a crash, finds its receipt and changes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from enum import StrEnum

from . import lifecycle
from .clock import Clock
from .config import Settings
from .erp_messages import PoisonMessage, ReservationOffset, StockAdjust, StockSet
from .errors import InvalidRequest, NotFound
from .lifecycle import Retention
from .records import Receipt, Reservation
from .retry import RetryPolicy, with_retries
from .table import AlreadyApplied, MessageInProgress, ReservationTable, StaleSequence
from .transitions import Plan, Transitions


class Effect(StrEnum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # its receipt exists: it took effect before
    STALE = "stale"  # a stock.set older than the one in place


@dataclass(frozen=True, slots=True)
class Outcome:
    effect: Effect
    applied: int = 0  # quantity offset, or the delta adjusted
    excess: int = 0  # quantity of an offset that no live hold covered: not applied
    shortfall: int = 0  # how far below zero ``available`` is after the change
    holds: int = 0  # holds an offset touched
    detail: str = ""


class ErpService:
    def __init__(
        self,
        table: ReservationTable,
        clock: Clock,
        settings: Settings,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self._table = table
        self._clock = clock
        self._retry = retry_policy or RetryPolicy()
        self._receipt_retention = settings.erp_receipt_retention_seconds
        self._claim_lease = settings.erp_claim_lease_seconds
        self._retention = Retention.from_settings(settings)
        self._transitions = Transitions(table, clock, self._retry)

    def _now(self) -> int:
        return int(self._clock.now())

    def apply(self, message: StockSet | StockAdjust | ReservationOffset) -> Outcome:
        if isinstance(message, StockSet):
            return self.set_stock(message)
        if isinstance(message, StockAdjust):
            return self.adjust_stock(message)
        return self.offset(message)

    # --- stock ---------------------------------------------------------------------------

    def set_stock(self, message: StockSet) -> Outcome:
        try:
            level = self._table.set_on_hand_in_sequence(
                message.sku, message.location, message.onHand, message.sequence, self._now()
            )
        except StaleSequence as stale:
            return Outcome(Effect.STALE, detail=f"sequence {stale.current} is in place")
        return Outcome(Effect.APPLIED, applied=message.onHand, shortfall=max(0, -level.available))

    def adjust_stock(self, message: StockAdjust) -> Outcome:
        receipt = Receipt("adjust", message.adjustmentId, message.fingerprint(), message.delta)
        now = self._now()
        try:
            with_retries(
                lambda token: self._table.adjust_on_hand(
                    receipt,
                    message.sku,
                    message.location,
                    message.delta,
                    now,
                    now + self._receipt_retention,
                    token=token,
                ),
                self._retry,
            )
        except AlreadyApplied as done:
            return self._duplicate(receipt, done.existing, "adjustmentId")
        shortfall = 0
        if message.delta < 0:
            # A transaction returns no values: only a decrease can push available below
            # zero, so only a decrease pays for a read to report it.
            level = self._table.get_stock_level(message.sku, message.location)
            shortfall = max(0, -level.available) if level else 0
        return Outcome(Effect.APPLIED, applied=message.delta, shortfall=shortfall)

    # --- offsets -------------------------------------------------------------------------

    def offset(self, message: ReservationOffset) -> Outcome:
        if message.reservationId is not None:
            return self._offset_by_id(message, message.reservationId)
        return self._auto_offset(message)

    def _offset_by_id(self, message: ReservationOffset, reservation_id: str) -> Outcome:
        receipt = Receipt("offset", message.offsetId, message.fingerprint())
        try:
            applied = self._offset_hold(message, reservation_id, message.quantity, receipt)
        except AlreadyApplied as done:
            return self._duplicate(receipt, done.existing, "offsetId")
        except NotFound:
            if self._table.receipts("offset", message.offsetId):
                return Outcome(Effect.DUPLICATE)  # applied, then the hold was purged
            raise PoisonMessage(
                f"reservationId: reservation {reservation_id!r} does not exist"
            ) from None
        return Outcome(
            Effect.APPLIED,
            applied=applied,
            excess=message.quantity - applied,
            holds=1 if applied else 0,
        )

    def _auto_offset(self, message: ReservationOffset) -> Outcome:
        """Dynamics' auto offset: the oldest live holds on the record first, each in its own
        transaction with a receipt part, then the receipt of the whole message.

        A claim on the message's receipt lets one delivery at a time work on it (a second
        delivery meanwhile fails for now and comes back as a duplicate). A delivery after a
        crash takes the claim over once its lease has run out, skips the holds whose parts
        exist and covers only what is left.
        """
        fingerprint = message.fingerprint()
        whole = Receipt("offset", message.offsetId, fingerprint)
        owner = uuid.uuid4().hex
        now = self._now()
        try:
            self._table.claim_receipt(whole, owner, now, now + self._claim_lease)
        except AlreadyApplied as finished:
            return self._duplicate(whole, finished.existing, "offsetId")
        earlier = self._table.receipts("offset", message.offsetId)
        for receipt in earlier:
            if receipt.fingerprint != fingerprint:
                return self._duplicate(whole, receipt, "offsetId")
        covered = sum(part.applied for part in earlier)
        done = {part.part for part in earlier}
        candidates = sorted(
            (
                hold
                for hold in self._table.holds_on_sku(message.sku, message.location)
                if hold.reservation_id not in done and hold.is_live_at(now)
            ),
            key=lambda hold: (hold.created_at, hold.reservation_id),
        )
        touched = len(done)
        for hold in candidates:
            remaining = message.quantity - covered
            if remaining <= 0:
                break
            part = replace(whole, part=hold.reservation_id)
            try:
                applied = self._offset_hold(message, hold.reservation_id, remaining, part)
            except NotFound:
                continue  # purged since it was listed
            covered += applied
            touched += 1 if applied else 0
        keep_until = self._now() + self._receipt_retention
        try:
            with_retries(
                lambda token: self._table.complete_receipt(
                    replace(whole, applied=covered), owner, now, keep_until, token=token
                ),
                self._retry,
            )
        except AlreadyApplied as other:
            # Our lease ran out and another delivery finished the message.
            return self._duplicate(whole, other.existing, "offsetId")
        return Outcome(
            Effect.APPLIED, applied=covered, excess=message.quantity - covered, holds=touched
        )

    def _offset_hold(
        self, message: ReservationOffset, reservation_id: str, quantity: int, receipt: Receipt
    ) -> int:
        """Offset up to ``quantity`` of one hold's line with its receipt, in one transaction
        conditioned on the version read. Returns what it covered (0 when nothing is held:
        then only a whole message's receipt is written)."""

        def plan(current: Reservation, now: int) -> Plan[int]:
            try:
                result = lifecycle.offset(
                    current,
                    message.sku,
                    message.location,
                    quantity,
                    message.deductOnHand,
                    now,
                    self._retention,
                )
            except InvalidRequest as error:
                raise PoisonMessage(f"{error.field}: {error.reason}") from None
            if result.applied == 0:
                return Plan(current, 0)
            return Plan(
                result.reservation,
                result.applied,
                receipt=replace(receipt, applied=result.applied),
                receipt_keep_until=now + self._receipt_retention,
            )

        applied = self._transitions.apply(reservation_id, plan)
        if applied == 0 and receipt.part is None:
            self._write_receipt(replace(receipt, applied=0))
        return applied

    def _write_receipt(self, receipt: Receipt) -> None:
        now = self._now()
        with_retries(
            lambda token: self._table.record_receipt(
                receipt, now, now + self._receipt_retention, token=token
            ),
            self._retry,
        )

    @staticmethod
    def _duplicate(receipt: Receipt, existing: Receipt, id_field: str) -> Outcome:
        if existing.fingerprint and existing.fingerprint != receipt.fingerprint:
            raise PoisonMessage(
                f"{id_field}: {receipt.message_id!r} was already used by a different message"
            )
        return Outcome(Effect.DUPLICATE, applied=existing.applied)


__all__ = ["Effect", "ErpService", "MessageInProgress", "Outcome"]
