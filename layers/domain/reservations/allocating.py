"""Holds on lines that name no location (issue 14): read the candidates' stock in one
request per 100 records, allocate with the pure rule (:mod:`reservations.allocation`),
write the plan in the one transaction of a reserve or a cart update, conditioned on
``available`` as ever, and plan again when stock moved since the read. An answer never
reflects a plan that did not commit (docs/architecture.md, "Locations and allocation").
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import allocation, lifecycle
from .allocation import Need, Shortage, Target
from .clock import Clock
from .commands import CartChange, CartLine, ReserveRequest
from .config import MAX_LINES
from .errors import Contention, InsufficientStock, InvalidRequest, ShortItem
from .expiry import Expiry
from .idempotency import Remember
from .lifecycle import Retention
from .locations import Locations
from .records import Line, Reservation
from .store import RecordBeingPurged, StockShort, Store
from .transitions import Plan, Transitions

if TYPE_CHECKING:
    from .reserving import ReserveResult, Reserving

# Plans written before giving up (503 CONTENTION): each failed one was refused because
# stock moved between the read and the write, and the next starts from what it returned.
REPLANS = 4
Record = tuple[str, str]


@dataclass(slots=True)
class Snapshot:
    """The candidates' stock as read, then as refused transactions found it."""

    available: dict[Record, int] = field(default_factory=dict)
    reserved: dict[Record, int] = field(default_factory=dict)

    def held_among(self, needs: Sequence[Need]) -> dict[Record, int]:
        """Records of these needs where something is reserved: only there can an expired,
        unswept hold be in the way."""
        records = set(allocation.records_of(needs))
        return {key: q for key, q in self.reserved.items() if key in records and q > 0}


class _ShortCart(Exception):
    def __init__(self, shortage: Shortage, held: dict[Record, int]) -> None:
        super().__init__("the cart cannot be allocated")
        self.shortage = shortage
        self.held = held


class Allocating:
    def __init__(
        self,
        reserving: Reserving,
        store: Store,
        locations: Locations,
        expiry: Expiry,
        transitions: Transitions,
        clock: Clock,
        retention: Retention,
    ) -> None:
        self._reserving = reserving
        self._store = store
        self._locations = locations
        self._expiry = expiry
        self._transitions = transitions
        self._clock = clock
        self._retention = retention

    def _read(self, needs: Sequence[Need]) -> Snapshot:
        counts = self._store.stock.get_counts(allocation.records_of(needs))
        return Snapshot(
            {key: count.available for key, count in counts.items()},
            {key: count.reserved for key, count in counts.items()},
        )

    # --- reserve -------------------------------------------------------------------------

    def reserve(
        self,
        request: ReserveRequest,
        channel: str,
        remember: Remember[ReserveResult] | None = None,
    ) -> ReserveResult:
        self._reserving.note_oversold_locations(request.lines)
        now = int(self._clock.now())
        call_id = uuid.uuid4().hex
        try:
            needs = self._needs(request)
        except InvalidRequest:
            # A pickup location since closed, a site since emptied: the hold made before
            # still answers its replay.
            replayed = self._replay_of(request, channel, now, call_id)
            if replayed is not None:
                return replayed
            raise
        snapshot = self._read(needs)
        freed = False
        for _ in range(REPLANS):
            planned = allocation.plan(needs, snapshot.available, request.allow_split)
            if isinstance(planned, Shortage):
                # An expired hold must never block a sale (as for a located reserve).
                held = snapshot.held_among(needs)
                if not freed and held and self._expiry.free_due_holds(held, now):
                    freed = True
                    snapshot = self._read(needs)
                    continue
                replayed = self._replay_of(request, channel, now, call_id)
                if replayed is not None:
                    return replayed
                raise insufficient(planned)
            lines, origin = self._lines(request, planned)
            if len(lines) > MAX_LINES:
                replayed = self._replay_of(request, channel, now, call_id)
                if replayed is not None:
                    return replayed
                raise InvalidRequest(
                    "body.items",
                    f"the allocation needs {len(lines)} lines over its locations; a hold has "
                    f"at most {MAX_LINES}: split the order, or name locations",
                )
            reservation = self._reserving.draft(request, channel, lines, now, call_id)
            try:
                return self._reserving.write(reservation, remember, now)
            except StockShort as short:
                named = [i for i in short.items if not _allocated(lines, i.sku, i.location)]
                if named:
                    if not freed and short.held and self._expiry.free_due_holds(short.held, now):
                        freed = True
                        continue
                    raise self._reserving.refusal(lines, short, origin) from None
                # Stock moved since the read: plan again from what the refusal returned.
                for item in short.items:
                    snapshot.available[(item.sku, item.location or "")] = item.available
        raise Contention("stock kept moving while allocating; try again")

    def _needs(self, request: ReserveRequest) -> list[Need]:
        network = self._locations.network()
        needs = []
        for index, line in enumerate(request.lines):
            if line.location is not None:
                continue
            if line.site is not None:
                target = self._locations.target(site=line.site, field=f"body.items[{index}].site")
            elif request.pickup_at is not None:
                target = self._locations.target(pickup=request.pickup_at, field="body.pickupAt")
            elif request.ship_to is not None:
                target = Target(country=request.ship_to.country)
            else:
                raise InvalidRequest(
                    f"body.items[{index}].location", "required without shipTo or pickupAt"
                )
            candidates = allocation.eligible(network, target)
            needs.append(Need(index, line.sku, line.quantity, target, candidates))
        return needs

    @staticmethod
    def _lines(
        request: ReserveRequest, planned: Sequence[allocation.Allocation]
    ) -> tuple[tuple[Line, ...], list[int]]:
        """The stored lines, in the request's order, and the request line each comes from."""
        parts = {found.need.index: found.parts for found in planned}
        lines: list[Line] = []
        origin: list[int] = []
        for index, line in enumerate(request.lines):
            if line.location is not None:
                located = [(line.location, line.quantity, False)]
            else:
                located = [(where, quantity, True) for where, quantity in parts[index]]
            for where, quantity, chosen in located:
                lines.append(
                    Line(
                        line.sku,
                        where,
                        quantity,
                        line.allow_oversell,
                        held=quantity,
                        granted=quantity,
                        allocated=chosen,
                        site=line.site,
                    )
                )
                origin.append(index)
        return tuple(lines), origin

    def _replay_of(
        self, request: ReserveRequest, channel: str, now: int, call_id: str
    ) -> ReserveResult | None:
        """A request refused for stock may be the replay of one that was granted: it
        answers the allocation already made, not a 409."""
        if request.id is None:
            return None
        try:
            existing = self._store.reservations.get(request.id)
        except RecordBeingPurged:
            existing = None
        if existing is None:
            return None
        draft = self._reserving.draft(request, channel, (), now, call_id)
        return self._reserving.replay(draft, existing)

    # --- the cart update -----------------------------------------------------------------

    def change_items(
        self,
        reservation_id: str,
        change: CartChange,
        owner: str | None,
        remember: Remember[Reservation] | None,
        expires_in: int | None,
    ) -> Reservation:
        """The hold follows a cart with location-less lines: each takes over every line of
        its sku, shrinking them or allocating what it needs more with the hold's own shipTo,
        pickupAt and allowSplit. The plan is made from a fresh read on every attempt."""
        self._reserving.note_oversold_locations(change.lines)
        derived: list[tuple[int, CartLine]] = []

        def plan(current: Reservation, now: int) -> Plan[Reservation]:
            network = self._locations.network()
            draft = allocation.draft_cart(
                current,
                change.lines,
                lambda index, item: self._cart_target(current, index, item),
                network,
            )
            snapshot = self._read(draft.needs)
            planned = allocation.plan(draft.needs, snapshot.available, current.allow_split)
            if isinstance(planned, Shortage):
                raise _ShortCart(planned, snapshot.held_among(draft.needs))
            derived[:] = allocation.complete_cart(draft, planned)
            after = lifecycle.change_items(
                current,
                [line for _, line in derived],
                now,
                self._retention,
                expires_in=expires_in,
                order_id=change.order_id,
            )
            return Plan(after, after)

        freed = False
        for _ in range(REPLANS):
            try:
                return self._transitions.apply(reservation_id, plan, owner, remember)
            except _ShortCart as short:
                now = int(self._clock.now())
                if freed or not short.held or not self._expiry.free_due_holds(short.held, now):
                    raise insufficient(short.shortage) from None
                freed = True
            except StockShort as short:
                # Short on a sharded record: units are moved into the line's bucket first.
                if self._reserving.made_room(reservation_id, short):
                    continue
                lines = [line for _, line in derived]
                named = [i for i in short.items if not _allocated(lines, i.sku, i.location)]
                if named:
                    now = int(self._clock.now())
                    if freed or not short.held or not self._expiry.free_due_holds(short.held, now):
                        raise self._reserving.refusal(
                            lines, short, [index for index, _ in derived]
                        ) from None
                    freed = True
        raise Contention(f"stock kept moving while allocating {reservation_id!r}; try again")

    def _cart_target(self, current: Reservation, index: int, item: CartLine) -> Target:
        if item.site is not None:
            return self._locations.target(site=item.site, field=f"body.items[{index}].site")
        if current.pickup_at is not None:
            return Target(pickup=current.pickup_at)
        if current.ship_to is not None:
            return Target(country=current.ship_to.country)
        raise InvalidRequest(
            f"body.items[{index}].location",
            "this hold was placed without shipTo or pickupAt: name the location",
        )


def _allocated(lines: Sequence[Line | CartLine], sku: str, location: str | None) -> bool:
    return any(x.allocated for x in lines if (x.sku, x.location) == (sku, location))


def insufficient(shortage: Shortage) -> InsufficientStock:
    """The 409 of an allocation that found no plan: per short line, what it asked, what
    every eligible location has in all, and each of them."""
    items = [
        ShortItem(
            short.need.sku,
            short.need.target.pickup,
            short.need.quantity,
            short.available,
            country=short.need.target.country,
            site=short.need.target.site,
            locations=short.locations,
        )
        for short in shortage.short
    ]
    message = None
    if shortage.split_would_serve:
        message = (
            "no single location can serve every line; with allowSplit: true the order would "
            "ship from several"
        )
    return InsufficientStock(items, message)
