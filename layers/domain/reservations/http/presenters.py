"""Stored records to API response bodies."""

from __future__ import annotations

from datetime import UTC, datetime

from ..records import HeldLine, Inventory, Reservation, Status, StockLevel
from .models import (
    HoldResponse,
    InventoryResponse,
    ReservationItem,
    ReservationResponse,
    ReservationSummary,
    SkuHoldsResponse,
    StockLevelResponse,
)


def iso(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reservation_response(reservation: Reservation, status: Status) -> ReservationResponse:
    """``status`` is the status as of now: an ACTIVE hold past its expiry reads EXPIRED."""
    return ReservationResponse(
        id=reservation.id,
        status=status.value,
        channel=reservation.channel,
        orderId=reservation.order_id,
        items=[
            ReservationItem(
                sku=line.sku,
                location=line.location,
                quantity=line.quantity,
                allowOversell=line.allow_oversell,
                held=line.held,
                released=line.released,
                consumed=line.consumed,
                offset=line.offset,
            )
            for line in reservation.lines
        ],
        createdAt=iso(reservation.created_at),
        expiresAt=expires_at(status, reservation.expires_at),
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
        updatedAt=iso(level.updated_at) if level.updated_at else None,
        version=level.version,
        lowStockThreshold=level.low_stock_threshold,
    )


def inventory_response(inventory: Inventory) -> InventoryResponse:
    return InventoryResponse(
        sku=inventory.sku,
        onHand=inventory.on_hand,
        reserved=inventory.reserved,
        available=inventory.available,
        locations=[stock_level_response(level) for level in inventory.locations],
    )
