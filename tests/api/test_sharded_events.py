"""Events of a sharded stock record end to end on moto server (docs/architecture.md,
"Sharded stock"): its buckets' changes reach the events function, which tells the record's
totals and each crossing of its threshold and of zero once, whichever bucket made it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local.engines import Engine
from tests.support.api_client import HandlerClient
from tests.support.event_bus import Bus, open_bus

pytestmark = pytest.mark.parametrize("engine", ["moto"], indirect=True)
LEVEL = "/inventory/HOT/locations/WH1"


@pytest.fixture
def bus(
    engine: Engine, engine_client: Any, engine_table: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Bus]:
    yield from open_bus(engine.endpoint, engine_client, engine_table, monkeypatch)


def hold(api: HandlerClient, rid: str, quantity: int) -> None:
    body = {"id": rid, "items": [{"sku": "HOT", "location": "WH1", "quantity": quantity}]}
    assert api.post("/reservations", body).status == 201


def stock_events(published: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return sorted(
        (e["detail-type"], e["detail"]["available"])
        for e in {e["detail"]["eventId"]: e for e in published}.values()
        if e["detail-type"].startswith("stock.")
    )


def test_a_reshard_is_a_stock_change_with_the_totals(api: HandlerClient, bus: Bus) -> None:
    assert api.put(LEVEL, {"onHand": 20}).status == 200
    hold(api, "r1", 3)
    bus.pump()
    assert api.put(LEVEL, {"shards": 4}).status == 200
    [changed] = [e for e in bus.pump() if e["detail-type"] == "stock.changed"]
    detail = changed["detail"]
    assert (detail["shards"], detail["available"], detail["reserved"]) == (4, 17, 3)
    assert detail["previous"] is None  # a sharded record's totals before are unknown
    assert api.put(LEVEL, {"shards": 1}).status == 200
    [back] = [e for e in bus.pump() if e["detail-type"] == "stock.changed"]
    assert (back["detail"]["shards"], back["detail"]["available"]) == (1, 17)


def test_each_crossing_of_a_sharded_total_is_told_once(api: HandlerClient, bus: Bus) -> None:
    assert api.put(LEVEL, {"onHand": 16, "lowStockThreshold": 5}).status == 200
    assert api.put(LEVEL, {"shards": 4}).status == 200
    bus.pump()
    for number in range(3):  # 4 each: the total falls to 4, below 5, on some bucket
        hold(api, f"r{number}", 4)
    assert stock_events(bus.pump()) == [("stock.low", 4)]
    hold(api, "r3", 1)  # still below: no new crossing
    assert stock_events(bus.pump()) == []
    assert api.delete("/reservations/r0").status == 200  # 7: above again
    assert stock_events(bus.pump()) == []
    hold(api, "r4", 4)  # 3: a second crossing
    assert stock_events(bus.pump()) == [("stock.low", 3)]


def test_a_sharded_total_below_zero_is_stock_negative(api: HandlerClient, bus: Bus) -> None:
    assert api.put(LEVEL, {"onHand": 8}).status == 200
    assert api.put(LEVEL, {"shards": 4}).status == 200
    hold(api, "r1", 2)
    hold(api, "r2", 2)
    bus.pump()
    assert api.put(LEVEL, {"onHand": 1}).status == 200  # 4 held on buckets: -3
    assert stock_events(bus.pump()) == [("stock.changed", -3), ("stock.negative", -3)]


def test_a_redelivered_crossing_keeps_its_id(api: HandlerClient, bus: Bus) -> None:
    assert api.put(LEVEL, {"onHand": 8, "lowStockThreshold": 4}).status == 200
    assert api.put(LEVEL, {"shards": 2}).status == 200
    bus.pump()
    hold(api, "r1", 3)
    hold(api, "r2", 3)
    records = bus.reader.poll()
    bus.invoke({"Records": records})
    assert [e for e in bus.drain() if e["detail-type"] == "stock.low"]
    bus.invoke({"Records": records})  # Lambda delivers the same batch again
    assert [e for e in bus.drain() if e["detail-type"] == "stock.low"] == []  # told already


def test_a_crossing_that_did_not_get_out_is_told_again_with_its_id(
    api: HandlerClient, bus: Bus
) -> None:
    assert api.put(LEVEL, {"onHand": 8, "lowStockThreshold": 4}).status == 200
    assert api.put(LEVEL, {"shards": 2}).status == 200
    bus.pump()
    hold(api, "r1", 6)
    records = bus.reader.poll()
    bus.publish_with(RefusesAll())
    assert bus.invoke({"Records": records})["batchItemFailures"]
    bus.publish_with(bus.events)
    bus.invoke({"Records": records})
    lows = [e for e in bus.drain() if e["detail-type"] == "stock.low"]
    assert [e["detail"]["available"] for e in lows] == [2]
    hold(api, "r2", 1)  # still below, and told: nothing more
    assert stock_events(bus.pump()) == []


class RefusesAll:
    def put_events(self, Entries: list[dict[str, Any]]) -> Any:
        return {
            "FailedEntryCount": len(Entries),
            "Entries": [{"ErrorCode": "InternalFailure"}] * len(Entries),
        }


def test_a_crossing_told_before_sharding_is_not_told_again(api: HandlerClient, bus: Bus) -> None:
    assert api.put(LEVEL, {"onHand": 6, "lowStockThreshold": 5}).status == 200
    hold(api, "r1", 2)  # 4: below 5, told by the record's own events
    assert stock_events(bus.pump()) == [("stock.changed", 6), ("stock.low", 4)]
    assert api.put(LEVEL, {"shards": 4}).status == 200
    hold(api, "r2", 1)  # 3: still the same crossing
    assert [kind for kind, _ in stock_events(bus.pump())] == ["stock.changed"]
