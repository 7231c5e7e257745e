"""Lifecycle events end to end on moto server: the API, the sweeper and the ERP change the
table; its stream, filtered as the template's mapping filters it, runs through the events
function onto a bus; a tap on the bus sees each event, checked against its schema."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from local.engines import Engine
from reservations.clock import ManualClock
from reservations.erp_messages import parse_message
from reservations.service import ReservationService
from reservations.store.retry import RetryPolicy
from tests.conftest import make_erp_service
from tests.support.api_client import ADMIN, HandlerClient
from tests.support.event_bus import Bus, open_bus

pytestmark = pytest.mark.parametrize("engine", ["moto"], indirect=True)


@pytest.fixture
def bus(
    engine: Engine, engine_client: Any, engine_table: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Bus]:
    yield from open_bus(engine.endpoint, engine_client, engine_table, monkeypatch)


def hold(api: HandlerClient, rid: str, quantity: int, **extra: Any) -> None:
    body = {"id": rid, "items": [{"sku": "A", "location": "WH1", "quantity": quantity}], **extra}
    assert api.post("/reservations", body).status == 201


def by_reservation(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each hold's event types in version order, once per eventId."""
    unique = {e["detail"]["eventId"]: e for e in events}
    found: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for event in unique.values():
        detail = event["detail"]
        if "reservationId" in detail:
            found[detail["reservationId"]].append((detail["version"], event["detail-type"]))
    return {rid: [kind for _, kind in sorted(kinds)] for rid, kinds in found.items()}


def stock_events(events: list[dict[str, Any]]) -> list[tuple[str, int]]:
    unique = {e["detail"]["eventId"]: e for e in events}.values()
    return sorted(
        (e["detail-type"], e["detail"]["available"])
        for e in unique
        if e["detail-type"].startswith("stock.")
    )


def test_a_mixed_scenario_tells_each_change_once_in_order(
    api: HandlerClient,
    bus: Bus,
    service: ReservationService,
    clock: ManualClock,
    engine_client: Any,
    engine_table: str,
    fast_retries: RetryPolicy,
) -> None:
    stock = {"onHand": 10, "lowStockThreshold": 3}
    assert api.put("/inventory/A/locations/WH1", stock).status == 200
    hold(api, "r1", 2)
    assert api.post("/reservations/r1/confirm").status == 200
    assert api.post("/reservations/r1/fulfill", {}).status == 200  # onHand 8
    hold(api, "r2", 3)
    assert api.post("/reservations/r2/extend", {"expiresInSeconds": 600}).status == 200
    release = {"items": [{"sku": "A", "location": "WH1", "quantity": 1}]}
    assert api.post("/reservations/r2/release", release).status == 200
    cart = {"items": [{"sku": "A", "location": "WH1", "quantity": 4}]}
    assert api.put("/reservations/r2/items", cart).status == 200  # available 4
    hold(api, "r3", 2)  # available 2: below the threshold
    assert api.as_(ADMIN).delete("/reservations/r3").status == 200  # back to 4
    hold(api, "r4", 1, expiresInSeconds=5)  # available 3: not below 3
    clock.advance(10)
    assert service.sweep().expired == ["r4"]  # available 4
    erp = make_erp_service(engine_client, engine_table, clock, fast_retries)
    offset = {"type": "reservation.offset", "schemaVersion": 1, "offsetId": "o-1"}
    offset |= {"reservationId": "r2", "sku": "A", "location": "WH1", "quantity": 1}
    erp.apply(parse_message(json.dumps(offset)))  # onHand 7, r2 holds 3, available 4
    assert api.put("/inventory/A/locations/WH1", {"onHand": 1}).status == 200  # available -2

    published = bus.pump()
    assert len({e["detail"]["eventId"] for e in published}) == len(published), "published twice"
    assert by_reservation(published) == {
        "r1": ["reservation.created", "reservation.confirmed", "reservation.fulfilled"],
        "r2": [
            "reservation.created",
            "reservation.extended",
            "reservation.released",
            "reservation.changed",
            "reservation.offset",
        ],
        "r3": ["reservation.created", "reservation.cancelled"],
        "r4": ["reservation.created", "reservation.expired"],
    }
    assert stock_events(published) == sorted(
        [
            ("stock.changed", 10),  # set
            ("stock.changed", 8),  # r1 shipped
            ("stock.low", 2),  # r3 took available below 3
            ("stock.changed", 4),  # the offset took one out of onHand
            ("stock.changed", -2),  # onHand set to 1 under 3 held
            ("stock.low", -2),
            ("stock.negative", -2),
        ]
    )
    fulfilled = next(e for e in published if e["detail-type"] == "reservation.fulfilled")
    assert fulfilled["detail"]["status"] == "FULFILLED"
    assert fulfilled["detail"]["items"] == [
        {"sku": "A", "location": "WH1", "quantity": 2, "held": 0, "released": 0}
        | {"consumed": 2, "offset": 0}
    ]
    created = next(e for e in published if e["detail"].get("reservationId") == "r3")
    assert created["detail"]["channel"] == "storefront"
    assert created["source"] == "reservations"


def test_a_replayed_stream_batch_publishes_nothing_new(api: HandlerClient, bus: Bus) -> None:
    assert api.put("/inventory/A/locations/WH1", {"onHand": 5}).status == 200
    hold(api, "r1", 2)
    assert api.post("/reservations/r1/confirm").status == 200
    records = bus.reader.poll()
    bus.invoke({"Records": records})
    first = {e["detail"]["eventId"] for e in bus.drain()}
    assert len(first) == 3  # stock.changed, reservation.created, reservation.confirmed

    bus.invoke({"Records": records})  # Lambda delivers the same batch again
    again = bus.drain()
    assert again, "a redelivered batch is published again (at least once)"
    assert {e["detail"]["eventId"] for e in again} == first


class RefusesOnce:
    """EventBridge refusing every entry but the first of its first PutEvents call."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0

    def put_events(self, Entries: list[dict[str, Any]]) -> Any:
        self.calls += 1
        if self.calls > 1:
            return self.real.put_events(Entries=Entries)
        taken = self.real.put_events(Entries=Entries[:1])["Entries"]
        refused = [{"ErrorCode": "InternalFailure"}] * (len(Entries) - 1)
        return {"FailedEntryCount": len(refused), "Entries": taken + refused}


def test_a_batch_that_fails_to_publish_is_retried_from_its_first_failed_record(
    api: HandlerClient, bus: Bus
) -> None:
    assert api.put("/inventory/A/locations/WH1", {"onHand": 5}).status == 200
    hold(api, "r1", 2)
    hold(api, "r2", 1)
    records = bus.reader.poll()
    bus.publish_with(RefusesOnce(bus.events))

    [failure] = bus.invoke({"Records": records})["batchItemFailures"]
    sequences = [r["dynamodb"]["SequenceNumber"] for r in records]
    retry = records[sequences.index(failure["itemIdentifier"]) :]
    assert bus.invoke({"Records": retry}) == {"batchItemFailures": []}
    seen = {e["detail"]["eventId"]: e["detail-type"] for e in bus.drain()}
    assert sorted(seen.values()) == [
        "reservation.created",
        "reservation.created",
        "stock.changed",
    ]


def test_a_label_tells_each_step_of_its_life(api: HandlerClient, bus: Bus) -> None:
    label = {"sku": "S", "location": "WH1", "quantity": 3}
    assert api.put("/labels/L-1", label).status == 201
    line = {"sku": "S", "location": "WH1", "labels": ["L-1"]}
    assert api.post("/reservations", {"id": "r1", "items": [line]}).status == 201
    shipped = {"items": [{"sku": "S", "location": "WH1", "quantity": 2}]}
    assert api.post("/reservations/r1/fulfill", shipped).status == 200

    published = bus.pump()
    steps = [
        (e["detail"]["status"], e["detail"]["previousStatus"], e["detail"]["quantity"])
        for e in published
        if e["detail-type"] == "label.changed"
    ]
    assert steps == [("ACTIVE", None, 3), ("RESERVED", "ACTIVE", 3), ("ACTIVE", "RESERVED", 1)]
    changed = [e["detail"]["onHand"] for e in published if e["detail-type"] == "stock.changed"]
    assert changed == [3, 1]  # the label's arrival, then what shipped from it
