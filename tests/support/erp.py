"""ERP messages and holds for the domain's ERP tests (moto in-process)."""

from __future__ import annotations

from typing import Any

from reservations.erp_messages import ReservationOffset, StockAdjust, StockSet
from reservations.http.models import CreateReservationRequest
from reservations.service import ReservationService


def stock_set(on_hand: int, sequence: int, sku: str = "A", location: str = "WH1") -> StockSet:
    return StockSet.model_validate(
        {"type": "stock.set", "schemaVersion": 1, "sku": sku, "location": location,
         "onHand": on_hand, "sequence": sequence}
    )  # fmt: skip


def adjust(adjustment_id: str, delta: int, sku: str = "A") -> StockAdjust:
    return StockAdjust.model_validate(
        {"type": "stock.adjust", "schemaVersion": 1, "adjustmentId": adjustment_id,
         "sku": sku, "location": "WH1", "delta": delta}
    )  # fmt: skip


def offset(
    offset_id: str, quantity: int, reservation_id: str | None = None, **extra: Any
) -> ReservationOffset:
    """An offset of sku A at WH1 unless ``extra`` says otherwise."""
    body = {"type": "reservation.offset", "schemaVersion": 1, "offsetId": offset_id,
            "sku": "A", "location": "WH1", "quantity": quantity, **extra}  # fmt: skip
    if reservation_id is not None:
        body["reservationId"] = reservation_id
    return ReservationOffset.model_validate(body)


def hold(
    service: ReservationService,
    reservation_id: str,
    quantity: int,
    sku: str = "A",
    location: str = "WH1",
) -> None:
    service.reserve(
        CreateReservationRequest.model_validate(
            {"id": reservation_id,
             "items": [{"sku": sku, "location": location, "quantity": quantity}]}
        ).to_command(),
        "default",
    )  # fmt: skip


def level(
    service: ReservationService, sku: str = "A", location: str = "WH1"
) -> tuple[int, int, int]:
    stock = service.stock_level(sku, location)
    return stock.on_hand, stock.reserved, stock.available
