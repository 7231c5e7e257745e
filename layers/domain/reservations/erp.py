"""The ERP's messages applied to stock and holds, each exactly once.

``stock.set`` is guarded by the ERP's sequence; ``stock.adjust`` and
``reservation.offset`` write a receipt in the transaction of their effect, so a message
SQS delivers twice, or a batch retried after a crash, finds its receipt and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from . import lifecycle
from .clock import Clock
from .config import Settings
from .erp_messages import (
    LabelRemove,
    LabelUpsert,
    Message,
    PoisonMessage,
    ReservationOffset,
    StockAdjust,
    StockSet,
)
from .errors import (
    InvalidRequest,
    LabelReserved,
    NotFound,
    StockCounted,
    StockSerialized,
)
from .labelling import Labelling, LabelWrite
from .lifecycle import Retention
from .locations import Locations
from .records import Cause, Receipt, Reservation
from .store import AlreadyApplied, MessageInProgress, StaleSequence, Store
from .store.retry import RetryPolicy, with_retries
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


ERP = "erp"  # the source of every movement the ERP makes


class ErpService:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        settings: Settings,
        retry_policy: RetryPolicy | None = None,
    ) -> None:
        self._stock = store.stock
        self._reservations = store.reservations
        self._ledger = store.receipts
        self._clock = clock
        self._retry = retry_policy or RetryPolicy()
        self._claim_lease = settings.erp_claim_lease_seconds
        self._settings = settings
        self._retention = Retention.from_settings(settings)
        self._transitions = Transitions(store, clock, self._retry)
        # The ERP may send stock for a location nobody registered: the network lists it.
        self._locations = Locations(store, clock, settings.locations_cache_seconds, self._retry)
        self._labels = Labelling(
            store,
            clock,
            self._retry,
            self._transitions,
            self._locations,
            self._retention,
            settings.page_token_secret,
        )

    def _now(self) -> int:
        return int(self._clock.now())

    def apply(self, message: Message) -> Outcome:
        try:
            if isinstance(message, StockSet):
                return self.set_stock(message)
            if isinstance(message, StockAdjust):
                return self.adjust_stock(message)
            if isinstance(message, LabelUpsert | LabelRemove):
                return self.label(message)
            return self.offset(message)
        except (StockSerialized, StockCounted, LabelReserved) as refused:
            # Counted stock where labels are, or the reverse, or a reserved label moved:
            # no redelivery changes that; the ERP must send what matches.
            raise PoisonMessage(f"{refused.code}: {refused}") from None

    # --- labels --------------------------------------------------------------------------

    def label(self, message: LabelUpsert | LabelRemove) -> Outcome:
        """label.upsert and label.remove, guarded by the ERP's sequence per label."""
        try:
            if isinstance(message, LabelRemove):
                removed = self._labels.remove(message.label, message.sequence, ERP)
                gone = 0 if removed is None else removed.in_stock
                return Outcome(Effect.APPLIED, applied=-gone)
            wanted = LabelWrite(
                message.label,
                message.sku,
                message.location,
                message.quantity,
                message.bin,
                message.sequence,
                source=ERP,
            )
            self._labels.put(wanted)
        except StaleSequence as stale:
            return Outcome(Effect.STALE, detail=f"sequence {stale.current} is in place")
        return Outcome(Effect.APPLIED, applied=message.quantity)

    # --- stock ---------------------------------------------------------------------------

    def set_stock(self, message: StockSet) -> Outcome:
        self._require_measure(message.measure)
        self._locations.note_stock_at(message.location)
        cause = Cause(ERP, message.reason or "stock.set", message.reference)
        try:
            # A plain write on a record in a reserve's transaction is refused for now.
            level = with_retries(
                lambda _: self._stock.set_on_hand_in_sequence(
                    message.sku,
                    message.location,
                    message.amount,
                    message.sequence,
                    self._now(),
                    measure=message.measure,
                    cause=cause,
                ),
                self._retry,
            )
        except StaleSequence as stale:
            return Outcome(Effect.STALE, detail=f"sequence {stale.current} is in place")
        return Outcome(Effect.APPLIED, applied=message.amount, shortfall=max(0, -level.available))

    def adjust_stock(self, message: StockAdjust) -> Outcome:
        self._require_measure(message.measure)
        receipt = Receipt("adjust", message.adjustmentId, message.fingerprint(), message.delta)
        now = self._now()
        self._locations.note_stock_at(message.location)
        cause = Cause(
            ERP, message.reason or "stock.adjust", message.reference or message.adjustmentId
        )
        try:
            with_retries(
                lambda token: self._stock.adjust_on_hand(
                    receipt,
                    message.sku,
                    message.location,
                    message.delta,
                    now,
                    token=token,
                    measure=message.measure,
                    cause=cause,
                ),
                self._retry,
            )
        except AlreadyApplied as done:
            return self._duplicate(receipt, done.existing, "adjustmentId")
        shortfall = 0
        if message.delta * self._stock.formula.coefficient(message.measure) < 0:
            # A transaction returns no values: only a decrease of supply can push available
            # below zero, so only a decrease pays for a read to report it.
            level = self._stock.get_level(message.sku, message.location)
            shortfall = max(0, -level.available) if level else 0
        return Outcome(Effect.APPLIED, applied=message.delta, shortfall=shortfall)

    def _require_measure(self, measure: str) -> None:
        if measure not in self._settings.stock_measures:
            raise PoisonMessage(
                f"measure: {measure!r} is not a measure of this deployment; the measures are "
                + ", ".join(self._settings.stock_measures)
            )

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
            if self._ledger.completed("offset", message.offsetId):
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
        whole = Receipt("offset", message.offsetId, message.fingerprint())
        now = self._now()
        try:
            claim = self._ledger.claim(whole, now, now + self._claim_lease)
        except AlreadyApplied as finished:
            return self._duplicate(whole, finished.existing, "offsetId")
        covered = claim.covered
        candidates = sorted(
            (
                hold
                for hold in self._reservations.holds_on_sku(message.sku, message.location)
                if not claim.done(hold.reservation_id) and hold.is_live_at(now)
            ),
            key=lambda hold: (hold.created_at, hold.reservation_id),
        )
        touched = len(claim.parts)
        for hold in candidates:
            remaining = message.quantity - covered
            if remaining <= 0:
                break
            part = claim.part(hold.reservation_id)
            try:
                applied = self._offset_hold(message, hold.reservation_id, remaining, part)
            except NotFound:
                continue  # purged since it was listed
            covered += applied
            touched += 1 if applied else 0
        try:
            self._ledger.complete(claim, covered, self._now())
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
                result.reservation, result.applied, receipt=replace(receipt, applied=result.applied)
            )

        applied = self._transitions.apply(reservation_id, plan)
        if applied == 0 and receipt.part is None:
            self._ledger.record(replace(receipt, applied=0), self._now())
        return applied

    @staticmethod
    def _duplicate(receipt: Receipt, existing: Receipt, id_field: str) -> Outcome:
        if existing.fingerprint and existing.fingerprint != receipt.fingerprint:
            raise PoisonMessage(
                f"{id_field}: {receipt.message_id!r} was already used by a different message"
            )
        return Outcome(Effect.DUPLICATE, applied=existing.applied)


__all__ = ["Effect", "ErpService", "MessageInProgress", "Outcome"]
