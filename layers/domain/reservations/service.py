"""Use cases of the reservation service, independent of HTTP and Lambda."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from . import lifecycle
from .clock import Clock
from .commands import CartChange, ReserveRequest, SetThreshold
from .config import Settings
from .errors import (
    Contention,
    InvalidRequest,
    LabelNotHeld,
    LabelReserved,
    NotFound,
    PreconditionFailed,
)
from .expiry import Expiry, SweepReport
from .idempotency import Remember
from .lifecycle import LineQuantity, Retention
from .locations import Locations
from .records import (
    SERVICE,
    Cause,
    HeldLine,
    Inventory,
    LabelStatus,
    Line,
    Reservation,
    Status,
    StockLevel,
)
from .reserving import ReserveResult, Reserving
from .search import Search
from .store import IdempotencyStore, Store
from .store.retry import RetryPolicy, with_retries
from .store.stock import ANY_VERSION, VersionMismatch
from .supply import ON_HAND
from .transitions import Plan, Transitions

if TYPE_CHECKING:
    from .labelling import Labelling
    from .ledger import Ledger
    from .sharding import Sharding

__all__ = ["ANY_VERSION", "ReservationService", "ReserveResult", "SweepReport"]

Transition = Callable[[Reservation, int], Reservation]


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
        self.locations = Locations(store, clock, settings.locations_cache_seconds, self._retry)
        self._reserving = Reserving(
            store, clock, settings, self._retry, self._transitions, self._expiry, self.locations
        )
        self.search = Search(store, clock, settings.page_token_secret)

    @cached_property
    def labels(self) -> Labelling:
        # Built, and its module imported, on first use: most environments never serve a
        # label route, and their cold start should not pay for it (docs/performance.md).
        from .labelling import Labelling

        return Labelling(
            self._store,
            self._clock,
            self._retry,
            self._transitions,
            self.locations,
            self._retention,
            self._settings.page_token_secret,
        )

    @cached_property
    def ledger(self) -> Ledger:
        from .ledger import Ledger  # as labels: only the movements route reads it

        return Ledger(self._store, self._settings.page_token_secret)

    @cached_property
    def sharding(self) -> Sharding:
        from .sharding import Sharding  # as labels: only a reshard needs it

        return Sharding(self._store, self._clock, self._retry)

    def _now(self) -> int:
        return int(self._clock.now())

    def now(self) -> int:
        return self._now()

    @property
    def idempotency_keys(self) -> IdempotencyStore:
        return self._store.idempotency

    def _expires_in(self, requested: int | None) -> int:
        return self._reserving.expires_in(requested)

    # --- reserve -------------------------------------------------------------------------

    def reserve(
        self,
        request: ReserveRequest,
        channel: str,
        remember: Remember[ReserveResult] | None = None,
    ) -> ReserveResult:
        return self._reserving.reserve(request, channel, remember)

    def change_items(
        self,
        reservation_id: str,
        change: CartChange,
        owner: str | None = None,
        remember: Remember[Reservation] | None = None,
    ) -> Reservation:
        return self._reserving.change_items(reservation_id, change, owner, remember)

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
        try:
            return self._transition(
                reservation_id,
                lambda current, now: lifecycle.fulfill(current, wanted, now, self._retention),
                owner,
                remember,
            )
        except LabelNotHeld as not_held:
            # A label another hold reserved ships only through that hold.
            states = self.labels.states(not_held.names)
            reserved = [x for x in states if x.status == LabelStatus.RESERVED.value]
            if reserved:
                raise LabelReserved(reserved) from None
            raise LabelNotHeld(not_held.names, states) from None

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

    def set_on_hand(self, sku: str, location: str, on_hand: int) -> StockLevel:
        return self.set_measures(sku, location, {ON_HAND: on_hand})

    def set_measures(
        self,
        sku: str,
        location: str,
        values: Mapping[str, int],
        expected_versions: tuple[int, ...] | None = None,
        remember: Remember[StockLevel] | None = None,
        threshold: SetThreshold | None = None,
        cause: Cause | None = None,
    ) -> StockLevel:
        """Absolute measures (onHand, inbound, ...); holds are kept. ``expected_versions``
        makes it a compare-and-set: the record must be at one of them (ANY_VERSION: exist;
        none: never matches), else PreconditionFailed with the record as it is.
        ``threshold`` sets or clears the record's low-stock threshold; None keeps it."""
        for name in values:
            if name not in self._settings.stock_measures:
                raise InvalidRequest(
                    f"body.{name}",
                    "not a measure of this deployment; the measures are "
                    + ", ".join(self._settings.stock_measures),
                )
        cause = cause or SERVICE
        stock = self._store.stock
        if expected_versions == ():
            raise PreconditionFailed(stock.get_level(sku, location))
        self.locations.note_stock_at(location)  # GET /locations lists where stock is
        if remember is None:
            try:
                # Retried like a transaction: a plain write on a record a reserve's
                # transaction has in flight is refused for now (TransactionConflict).
                return with_retries(
                    lambda _: stock.set_measures(
                        sku,
                        location,
                        values,
                        self._now(),
                        expected_version=expected_versions,
                        threshold=threshold,
                        cause=cause,
                    ),
                    self._retry,
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
            after = self._after(sku, location, before, values, threshold)
            remembered = remember.item(after, after.updated_at)

            def write(
                token: str,
                before: StockLevel | None = before,
                after: StockLevel = after,
                remembered: dict[str, Any] = remembered,
            ) -> None:
                stock.set_on_hand_with(
                    before,
                    after,
                    remembered,
                    token=token,
                    threshold=threshold,
                    values=values,
                    cause=cause,
                )

            try:
                with_retries(write, self._retry)
            except VersionMismatch:
                continue  # a hold or another write moved it since the read: read again
            remember.written = True
            return after
        raise Contention(f"stock {sku!r} at {location!r} kept changing; try again")

    def _after(
        self,
        sku: str,
        location: str,
        before: StockLevel | None,
        values: Mapping[str, int],
        threshold: SetThreshold | None,
    ) -> StockLevel:
        """The record once ``values`` are written over ``before``, as the answer says it."""
        now = self._now()
        if before is None:
            before = StockLevel(sku, location, 0, 0, 0)
            known: dict[str, int] = {}
        else:
            known = {ON_HAND: before.on_hand, **before.measures}
        moved = self._settings.supply_formula.delta(known, values)
        others = {k: v for k, v in values.items() if k != ON_HAND}
        return replace(
            before,
            on_hand=values.get(ON_HAND, before.on_hand),
            available=before.available + moved,
            updated_at=now,
            version=before.version + 1,
            measures={**before.measures, **others},
            low_stock_threshold=(
                before.low_stock_threshold if threshold is None else threshold.value
            ),
        )

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
