"""Stored records to API response bodies."""

from __future__ import annotations

from collections.abc import Sequence

from ..clock import iso
from ..errors import LabelState
from ..records import (
    HeldLine,
    Inventory,
    Label,
    Line,
    Location,
    Movement,
    Reservation,
    Status,
    StockLevel,
)
from .checkout import ShippingChoiceResponse
from .label_models import (
    LabelHoldResponse,
    LabelListResponse,
    LabelResponse,
    LabelStateResponse,
)
from .locations import AvailabilityResponse, LocationResponse, SkuAvailability
from .models import (
    AllocationItem,
    DestinationResponse,
    HoldResponse,
    LocationAvailable,
    ReservationItem,
    ReservationResponse,
    ReservationSummary,
    SkuHoldsResponse,
)
from .stock_models import (
    InventoryResponse,
    MovementListResponse,
    MovementResponse,
    StockLevelResponse,
)


def reservation_response(reservation: Reservation, status: Status) -> ReservationResponse:
    """``status`` is the status as of now: an ACTIVE hold past its expiry reads EXPIRED."""
    ship_to = reservation.ship_to
    choice = reservation.shipping_choice
    return ReservationResponse(
        id=reservation.id,
        status=status.value,
        channel=reservation.channel,
        orderId=reservation.order_id,
        items=[_item(group) for group in requested_lines(reservation.lines)],
        createdAt=iso(reservation.created_at),
        expiresAt=expires_at(status, reservation.expires_at),
        shipTo=None
        if ship_to is None
        else DestinationResponse(
            country=ship_to.country, state=ship_to.state, postalCode=ship_to.postal_code
        ),
        shippingChoice=None
        if choice is None
        else ShippingChoiceResponse.model_validate_json(choice),
        pickupAt=reservation.pickup_at,
        allowSplit=reservation.allow_split or None,
    )


def requested_lines(lines: Sequence[Line]) -> list[list[Line]]:
    """The stored lines as the request asked for them: a line the service allocated may be
    split over several locations, one stored line each, and is its sku's only line in the
    request, so every stored line of its sku is a part of it; a named line is one."""
    allocated = {line.sku for line in lines if line.allocated}
    groups: dict[tuple[str, str | None], list[Line]] = {}
    for line in lines:
        key = (line.sku, None if line.sku in allocated else line.location)
        groups.setdefault(key, []).append(line)
    return list(groups.values())


def _item(group: list[Line]) -> ReservationItem:
    first = group[0]
    split = len(group) > 1
    return ReservationItem(
        sku=first.sku,
        location=None if split else first.location,
        quantity=sum(line.quantity for line in group),
        allowOversell=first.allow_oversell,
        held=sum(line.held for line in group),
        released=sum(line.released for line in group),
        consumed=sum(line.consumed for line in group),
        offset=sum(line.offset for line in group),
        site=first.site,
        allocated=True if any(line.allocated for line in group) else None,
        labels=[
            LabelHoldResponse(label=x.label, quantity=x.quantity, held=x.held, shipped=x.shipped)
            for x in first.labels
        ]
        if first.labels
        else None,
        allocations=[
            AllocationItem(
                location=line.location,
                quantity=line.quantity,
                held=line.held,
                released=line.released,
                consumed=line.consumed,
                offset=line.offset,
            )
            for line in group
        ]
        if split
        else None,
    )


def expires_at(status: Status, epoch_seconds: int) -> str | None:
    """When the hold expires (ACTIVE) or expired (EXPIRED); null once it can no longer
    expire: confirmed, fulfilled or cancelled."""
    return iso(epoch_seconds) if status in (Status.ACTIVE, Status.EXPIRED) else None


def summary(reservation: Reservation, lines: int, status: Status) -> ReservationSummary:
    return ReservationSummary(
        id=reservation.id,
        status=status.value,
        channel=reservation.channel,
        orderId=reservation.order_id,
        createdAt=iso(reservation.created_at),
        expiresAt=expires_at(status, reservation.expires_at),
        lineCount=lines,
    )


def holds_response(sku: str, holds: list[HeldLine]) -> SkuHoldsResponse:
    return SkuHoldsResponse(
        sku=sku,
        holds=[
            HoldResponse(
                id=hold.reservation_id,
                status=hold.status.value,
                channel=hold.channel,
                location=hold.line.location,
                quantity=hold.line.held,
                expiresAt=expires_at(hold.status, hold.expires_at),
            )
            for hold in holds
        ],
    )


def stock_level_response(level: StockLevel) -> StockLevelResponse:
    return StockLevelResponse(
        location=level.location,
        onHand=level.on_hand,
        reserved=level.reserved,
        available=level.available,
        supply=level.supply,
        measures={"onHand": level.on_hand, **level.measures},
        updatedAt=iso(level.updated_at) if level.updated_at else None,
        version=level.version,
        lowStockThreshold=level.low_stock_threshold,
        shards=level.shards,
    )


def inventory_response(inventory: Inventory) -> InventoryResponse:
    return InventoryResponse(
        sku=inventory.sku,
        onHand=inventory.on_hand,
        reserved=inventory.reserved,
        available=inventory.available,
        locations=[stock_level_response(level) for level in inventory.locations],
    )


def label_response(label: Label, holder_shown: bool) -> LabelResponse:
    """``holder_shown``: the caller is the holding channel or an admin."""
    return LabelResponse(
        label=label.label,
        sku=label.sku,
        location=label.location,
        bin=label.bin,
        quantity=label.quantity,
        status=label.status.value,
        createdAt=iso(label.created_at),
        updatedAt=iso(label.updated_at),
        reservationId=label.reservation_id if holder_shown else None,
        orderId=label.order_id if holder_shown else None,
    )


def movement_list_response(
    movements: Sequence[Movement], next_token: str | None
) -> MovementListResponse:
    return MovementListResponse(
        movements=[
            MovementResponse(
                measure=m.measure,
                delta=m.delta,
                value=m.value,
                at=iso(m.at),
                version=m.version,
                source=m.source,
                reason=m.reason,
                reference=m.reference,
            )
            for m in movements
        ],
        nextToken=next_token,
    )


def label_list_response(labels: Sequence[Label], next_token: str | None) -> LabelListResponse:
    # A listing shows stock, not who holds it: a holder reads the label itself.
    return LabelListResponse(
        labels=[label_response(x, holder_shown=False) for x in labels], nextToken=next_token
    )


def label_states(states: Sequence[LabelState]) -> list[dict[str, object]]:
    return [
        LabelStateResponse(
            label=x.label, status=x.status, sku=x.sku, location=x.location
        ).model_dump(exclude_none=True)
        | {"status": x.status}
        for x in states
    ]


def location_response(location: Location) -> LocationResponse:
    if not location.registered:
        return LocationResponse(location=location.location, registered=False)
    return LocationResponse(
        location=location.location,
        registered=True,
        name=location.name,
        country=location.country,
        site=location.site,
        priority=location.priority,
        active=location.active,
        shipsTo=list(location.ships_to),
        pickup=location.pickup,
        updatedAt=iso(location.updated_at) if location.updated_at else None,
    )


def availability_response(
    found: Sequence[tuple[str, int, tuple[tuple[str, int], ...]]],
) -> AvailabilityResponse:
    return AvailabilityResponse(
        items=[
            SkuAvailability(
                sku=sku,
                available=available,
                locations=[LocationAvailable(location=loc, available=q) for loc, q in per],
            )
            for sku, available, per in found
        ]
    )
