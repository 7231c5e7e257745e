"""ERP messages racing storefront reserves, the sweeper and their own redeliveries, on
DynamoDB Local: the stock invariants hold and every message takes effect exactly once.

Three clocks share one table: the storefront's and the ERP's at t0, the sweeper's past the
short holds' expiry, so the sweeper expires the very holds the ERP offsets by id.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reservations.clock import ManualClock
from reservations.commands import ReserveRequest
from reservations.erp import Effect, ErpService, Outcome
from reservations.erp_messages import ReservationOffset, StockAdjust
from reservations.errors import Contention, InsufficientStock
from reservations.http.models import CreateReservationRequest
from reservations.records import Status
from reservations.service import ReservationService, ReserveResult
from reservations.store import MessageInProgress
from reservations.store.retry import RetryPolicy
from tests.conftest import make_erp_service, make_service
from tests.support.invariants import check_invariants
from tests.support.race import race

SKU, LOCATION = "A", "WH1"
STOCK = 200
PLACED = 20  # holds placed before the race, 3 each; every other one expires in 60 s
SHOPPERS = 32


def cart(quantity: int, **extra: Any) -> ReserveRequest:
    return CreateReservationRequest.model_validate(
        {"items": [{"sku": SKU, "location": LOCATION, "quantity": quantity}], **extra}
    ).to_command()


def offset(offset_id: str, quantity: int, reservation_id: str | None = None) -> ReservationOffset:
    body: dict[str, Any] = {
        "type": "reservation.offset",
        "schemaVersion": 1,
        "offsetId": offset_id,
        "sku": SKU,
        "location": LOCATION,
        "quantity": quantity,
    }
    if reservation_id:
        body["reservationId"] = reservation_id
    return ReservationOffset.model_validate(body)


def adjust(adjustment_id: str, delta: int) -> StockAdjust:
    return StockAdjust.model_validate(
        {"type": "stock.adjust", "schemaVersion": 1, "adjustmentId": adjustment_id,
         "sku": SKU, "location": LOCATION, "delta": delta}
    )  # fmt: skip


@dataclass
class Delivery:
    """One SQS delivery of a message; a record that fails for now (contention, or another
    delivery of the same message at work) comes back a moment later, as SQS would send it."""

    erp: ErpService
    message: ReservationOffset | StockAdjust

    def __call__(self) -> tuple[ReservationOffset | StockAdjust, Outcome]:
        for _ in range(200):
            try:
                return self.message, self.erp.apply(self.message)
            except (Contention, MessageInProgress):
                time.sleep(0.02)
        raise AssertionError(f"{self.message} kept failing")


def shopper(storefront: ReservationService, quantity: int) -> Callable[[], ReserveResult]:
    return lambda: storefront.reserve(cart(quantity), "web")


def message_id(message: ReservationOffset | StockAdjust) -> str:
    return message.offsetId if isinstance(message, ReservationOffset) else message.adjustmentId


def test_offsets_adjustments_reserves_and_the_sweeper_race_without_double_effects(
    local_client: Any, local_table: str, fast_retries: RetryPolicy
) -> None:
    t0 = ManualClock()
    later = ManualClock(t0.now() + 61)
    storefront = make_service(local_client, local_table, t0, fast_retries)
    sweeper = make_service(local_client, local_table, later, fast_retries)
    erp = make_erp_service(local_client, local_table, t0, fast_retries)
    storefront.set_on_hand(SKU, LOCATION, STOCK)
    placed = [
        storefront.reserve(
            cart(3, id=f"placed-{n}", **({"expiresInSeconds": 60} if n % 2 else {})), "web"
        ).reservation.id
        for n in range(PLACED)
    ]
    rng = random.Random(7)
    messages: list[ReservationOffset | StockAdjust] = [
        *(offset(f"so-{rid}", 2, rid) for rid in placed),
        *(offset(f"pick-{n}", 5) for n in range(4)),
        *(adjust(f"count-{n}", rng.choice([-2, -1, 1, 3])) for n in range(8)),
    ]
    tasks: list[Callable[[], Any]] = []
    for message in messages:  # each delivered twice at once: SQS delivers at least once
        tasks += [Delivery(erp, message), Delivery(erp, message)]
    tasks += [shopper(storefront, rng.randint(1, 4)) for _ in range(SHOPPERS)]
    tasks += [sweeper.sweep for _ in range(3)]
    rng.shuffle(tasks)

    results = race(*tasks)
    unexpected = [r for r in results if isinstance(r, Exception)]
    # A shopper may find nothing left; nothing else may fail.
    assert all(isinstance(r, InsufficientStock) for r in unexpected), unexpected

    check_invariants(local_client, local_table)
    deliveries = [r for r in results if isinstance(r, tuple)]
    assert len(deliveries) == 2 * len(messages)
    # Every message took effect once; its other delivery was recognised as a duplicate.
    effects = Counter((message_id(m), o.effect) for m, o in deliveries)
    for message in messages:
        assert effects[(message_id(message), Effect.APPLIED)] == 1, message
        assert effects[(message_id(message), Effect.DUPLICATE)] == 1, message

    created = [r.reservation.id for r in results if isinstance(r, ReserveResult)]
    reservations = [storefront.get(rid) for rid in [*placed, *created]]
    lines = [line for r in reservations for line in r.lines]
    # What the applied offsets report is exactly what the holds show as offset.
    offset_applied = sum(
        o.applied
        for m, o in deliveries
        if isinstance(m, ReservationOffset) and o.effect is Effect.APPLIED
    )
    assert sum(line.offset for line in lines) == offset_applied > 0
    # Physical stock: the start, plus each adjustment once, minus what the offsets shipped.
    adjusted = sum(m.delta for m in messages if isinstance(m, StockAdjust))
    [level] = storefront.inventory(SKU).locations
    assert level.on_hand == STOCK + adjusted - sum(line.consumed for line in lines)
    # A placed hold lost 2 to its own offset (plus what auto offsets took), or expired
    # first; its quantity is accounted for either way.
    for reservation in reservations[:PLACED]:
        [line] = reservation.lines
        assert line.held + line.released + line.consumed == line.quantity
        if reservation.status is Status.EXPIRED:
            assert line.held == 0
