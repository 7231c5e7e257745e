"""The movement ledger end to end on moto server (issue 15): the API and the ERP change
measures, the table's stream runs through the events function, and every change of a
measure is in the ledger exactly once, newest first, with its cause; a replayed stream
batch writes nothing twice; holds are not movements."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from local.engines import Engine
from local.streams import deliver
from reservations.clock import ManualClock
from reservations.erp_messages import parse_message
from reservations.store.keys import movements_pk
from reservations.store.retry import RetryPolicy
from tests.conftest import make_erp_service
from tests.support.api_client import DEFAULT_IDENTITY, HandlerClient
from tests.support.event_bus import Bus, events_mapping, open_bus

pytestmark = pytest.mark.parametrize("engine", ["moto"], indirect=True)
LEDGER = "/inventory/A/locations/WH1/movements"
CHANNEL = DEFAULT_IDENTITY.channel


@pytest.fixture
def bus(
    engine: Engine, engine_client: Any, engine_table: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Bus]:
    yield from open_bus(engine.endpoint, engine_client, engine_table, monkeypatch)


def erp_message(**fields: Any) -> Any:
    body = {"schemaVersion": 1, "sku": "A", "location": "WH1", **fields}
    return parse_message(json.dumps(body))


def ledger_items(client: Any, table: str) -> list[dict[str, Any]]:
    return list(
        client.query(
            TableName=table,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": movements_pk("A", "WH1")},
        )["Items"]
    )


def test_every_change_of_a_measure_is_in_the_ledger_once_with_its_cause(
    api: HandlerClient,
    bus: Bus,
    clock: ManualClock,
    engine_client: Any,
    engine_table: str,
    fast_retries: RetryPolicy,
) -> None:
    level = "/inventory/A/locations/WH1"
    assert api.put(level, {"onHand": 10, "reason": "count", "reference": "C-1"}).status == 200
    assert api.put(level, {"inbound": 6, "onHand": 10}).status == 200  # onHand did not move
    erp = make_erp_service(engine_client, engine_table, clock, fast_retries)
    adjust = {"type": "stock.adjust", "adjustmentId": "a-1", "measure": "inbound"}
    erp.apply(erp_message(**adjust, delta=-2, reason="received", reference="PO-9"))
    body = {"id": "r1", "items": [{"sku": "A", "location": "WH1", "quantity": 3}]}
    assert api.post("/reservations", body).status == 201  # a hold: no movement
    assert api.post("/reservations/r1/fulfill", {}).status == 200  # onHand 7
    assert api.post("/reservations", {**body, "id": "r2"}).status == 201
    assert api.delete("/reservations/r2").status == 200  # released: no movement
    records = bus.reader.poll()
    deliver(bus.invoke, events_mapping(), records)
    # A change of any measure is a stock.changed; holds are not.
    changed = [
        (e["detail"]["measures"], e["detail"]["supply"], e["detail"]["available"])
        for e in {e["detail"]["eventId"]: e for e in bus.drain()}.values()
        if e["detail-type"] == "stock.changed"
    ]
    assert sorted(changed, key=lambda c: str(c)) == sorted(
        [
            ({"onHand": 10}, 10, 10),
            ({"onHand": 10, "inbound": 6}, 10, 10),  # inbound is not in the default formula
            ({"onHand": 10, "inbound": 4}, 10, 10),
            ({"onHand": 7, "inbound": 4}, 7, 7),
        ],
        key=lambda c: str(c),
    )

    page = api.get(LEDGER)
    assert page.status == 200, page.text
    moved = [
        (m["measure"], m["delta"], m["value"], m["source"], m.get("reason"), m.get("reference"))
        for m in page.json["movements"]
    ]
    assert moved == [
        ("onHand", -3, 7, CHANNEL, "fulfilled", "r1"),
        ("inbound", -2, 4, "erp", "received", "PO-9"),
        ("inbound", 6, 6, CHANNEL, None, None),
        ("onHand", 10, 10, CHANNEL, "count", "C-1"),
    ]
    assert "nextToken" not in page.json
    versions = [m["version"] for m in page.json["movements"]]
    assert versions == sorted(versions, reverse=True)

    # The same batch again, as Lambda redelivers it after a failure: nothing doubles.
    deliver(bus.invoke, events_mapping(), records)
    assert len(ledger_items(engine_client, engine_table)) == 4
    assert api.get(LEDGER).json == page.json


def test_a_page_is_one_query_and_its_token_continues_it(
    api: HandlerClient, bus: Bus, engine_client: Any, engine_table: str
) -> None:
    for on_hand in range(1, 6):
        assert api.put("/inventory/A/locations/WH1", {"onHand": on_hand}).status == 200
    bus.pump()
    first = api.get(f"{LEDGER}?limit=2")
    assert [m["value"] for m in first.json["movements"]] == [5, 4]
    second = api.get(f"{LEDGER}?limit=2&nextToken={first.json['nextToken']}")
    assert [m["value"] for m in second.json["movements"]] == [3, 2]
    forged = api.get(f"{LEDGER}?limit=3&nextToken={first.json['nextToken']}")
    assert forged.status == 400, forged.text  # a token opens only the page size it was for
    assert api.get("/inventory/A/locations/WH9/movements").json == {"movements": []}
