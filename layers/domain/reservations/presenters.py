"""Stored records to API response bodies."""

from __future__ import annotations

from datetime import UTC, datetime

from .models import InventoryResponse, ReservationItem, ReservationResponse, StockLevelResponse
from .records import Inventory, Reservation, StockLevel


def iso(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def reservation_response(reservation: Reservation) -> ReservationResponse:
    return ReservationResponse(
        id=reservation.id,
        status=reservation.status.value,
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
            )
            for line in reservation.lines
        ],
        createdAt=iso(reservation.created_at),
        expiresAt=iso(reservation.expires_at),
    )


def stock_level_response(level: StockLevel) -> StockLevelResponse:
    return StockLevelResponse(
        location=level.location,
        onHand=level.on_hand,
        reserved=level.reserved,
        available=level.available,
        updatedAt=iso(level.updated_at) if level.updated_at else None,
    )


def inventory_response(inventory: Inventory) -> InventoryResponse:
    return InventoryResponse(
        sku=inventory.sku,
        onHand=inventory.on_hand,
        reserved=inventory.reserved,
        available=inventory.available,
        locations=[stock_level_response(level) for level in inventory.locations],
    )
