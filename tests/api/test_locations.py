"""The location network and POST /availability through the real handler, on both engines."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.clock import ManualClock
from reservations.erp_messages import StockSet
from reservations.service import ReservationService
from reservations.store.retry import RetryPolicy
from tests.conftest import make_erp_service, make_service
from tests.support.api_client import HandlerClient
from tests.support.invariants import check_invariants

PARIS = {"name": "Paris", "country": "FR", "priority": 2, "active": True, "pickup": True}


def register(api: HandlerClient, location: str, **body: Any) -> Any:
    response = api.put(f"/locations/{location}", body)
    assert response.status == 200, response.text
    return response.json


def stock(api: HandlerClient, sku: str, location: str, on_hand: int) -> None:
    assert api.put(f"/inventory/{sku}/locations/{location}", {"onHand": on_hand}).status == 200


def test_a_registration_reads_back_as_written(api: HandlerClient, clock: ManualClock) -> None:
    written = register(api, "STORE-PARIS", **PARIS, site="FR-STORES")
    assert written == {
        "location": "STORE-PARIS",
        "registered": True,
        "name": "Paris",
        "country": "FR",
        "site": "FR-STORES",
        "priority": 2,
        "active": True,
        "shipsTo": ["FR"],  # the default: its own country
        "pickup": True,
        "updatedAt": written["updatedAt"],
    }
    assert api.get("/locations/STORE-PARIS").json == written
    assert api.get("/locations").json == {"locations": [written]}


def test_a_put_replaces_the_whole_registration_and_keeps_the_stock(api: HandlerClient) -> None:
    register(api, "WH-1", **PARIS, site="S1")
    stock(api, "A", "WH-1", 5)
    replaced = register(api, "WH-1", country="GB", priority=1, active=False, shipsTo=["*"])
    assert (replaced["site"], replaced["name"], replaced["pickup"]) == (None, None, False)
    assert api.get("/locations/WH-1").json == replaced
    assert api.get("/inventory/A").json["available"] == 5


def test_stock_on_an_unregistered_location_lists_it_as_unregistered(
    api: HandlerClient,
    service: ReservationService,
    engine_client: Any,
    engine_table: str,
    clock: ManualClock,
    fast_retries: RetryPolicy,
) -> None:
    register(api, "WH-1", **PARIS)
    stock(api, "A", "WH-API", 3)
    # The ERP may send stock first, for a location nobody registered.
    erp = make_erp_service(engine_client, engine_table, clock, fast_retries)
    erp.apply(
        StockSet(
            type="stock.set", schemaVersion=1, sku="A", location="WH-ERP", onHand=7, sequence=1
        )
    )
    listed = api.get("/locations").json["locations"]
    assert [(x["location"], x["registered"]) for x in listed] == [
        ("WH-1", True),
        ("WH-API", False),
        ("WH-ERP", False),
    ]
    assert api.get("/locations/WH-ERP").json == {
        "location": "WH-ERP",
        "registered": False,
        "name": None,
        "country": None,
        "site": None,
        "priority": None,
        "active": None,
        "shipsTo": None,
        "pickup": None,
        "updatedAt": None,
    }
    # Registering it later keeps the stock and makes it a location like any other.
    register(api, "WH-ERP", country="DE", priority=3, active=True)
    assert api.get("/locations/WH-ERP").json["registered"] is True
    report = check_invariants(engine_client, engine_table)
    assert report.warnings == []


def test_an_unknown_location_is_404(api: HandlerClient) -> None:
    response = api.get("/locations/NOWHERE")
    assert response.status == 404
    assert response.json["error"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**PARIS, "country": "fr"}, "body.country"),
        ({**PARIS, "country": "XK"}, "body.country"),
        ({**PARIS, "colour": "red"}, "body.colour"),
        ({**PARIS, "shipsTo": ["*", "FR"]}, "body.shipsTo"),
        ({**PARIS, "shipsTo": ["FR", "FR"]}, "body.shipsTo"),
        ({**PARIS, "shipsTo": []}, "body.shipsTo"),
        ({**PARIS, "shipsTo": ["FR", "ZZ"]}, "body.shipsTo[1]"),
        ({**PARIS, "priority": "1"}, "body.priority"),
        ({**PARIS, "priority": 10**7}, "body.priority"),
        ({**PARIS, "active": "yes"}, "body.active"),
        ({**PARIS, "site": "a b"}, "body.site"),
        ({**PARIS, "name": "line\nbreak"}, "body.name"),
        ({"country": "FR", "priority": 1}, "body.active"),
    ],
)
def test_bad_registrations_are_400s_naming_the_field(
    api: HandlerClient, body: dict[str, Any], field: str
) -> None:
    response = api.put("/locations/WH-1", body)
    assert response.status == 400, response.text
    assert field in [d["field"] for d in response.json["details"]], response.json
    assert api.get("/locations/WH-1").status == 404  # nothing was written


def test_a_repeated_idempotency_key_replays_the_registration(api: HandlerClient) -> None:
    headers = {"Idempotency-Key": "loc-1"}
    first = api.put("/locations/WH-1", PARIS, headers=headers)
    again = api.put("/locations/WH-1", PARIS, headers=headers)
    assert (first.status, again.status) == (200, 200)
    assert again.text == first.text
    assert again.headers.get("Idempotent-Replayed") == "true"
    other = api.put("/locations/WH-1", {**PARIS, "priority": 9}, headers=headers)
    assert other.status == 422
    assert api.get("/locations/WH-1").json["priority"] == 2


def test_another_environment_sees_a_registration_within_the_cache_time(
    api: HandlerClient,
    service: ReservationService,
    engine_client: Any,
    engine_table: str,
    clock: ManualClock,
    fast_retries: RetryPolicy,
) -> None:
    stock(api, "A", "WH-1", 5)
    register(api, "WH-1", country="FR", priority=1, active=True)
    other = make_service(engine_client, engine_table, clock, fast_retries)
    assert [x.location for x in other.locations.network()] == ["WH-1"]  # read, then cached
    register(api, "WH-1", country="FR", priority=1, active=False)
    assert other.locations.network()[0].active  # still the cached list
    clock.advance(30)
    assert not other.locations.network()[0].active


# --- POST /availability -------------------------------------------------------------------


@pytest.fixture
def network(api: HandlerClient) -> HandlerClient:
    register(api, "WH-A", country="FR", priority=1, active=True, shipsTo=["FR", "BE"])
    register(api, "WH-B", country="FR", priority=2, active=True, site="S1")
    register(api, "SHOP", country="FR", priority=3, active=True, site="S1", pickup=True)
    register(api, "WH-OFF", country="FR", priority=0, active=False)
    for location, on_hand in (("WH-A", 4), ("WH-B", 6), ("SHOP", 1), ("WH-OFF", 50)):
        stock(api, "A", location, on_hand)
    stock(api, "A", "WH-ERP", 70)  # unregistered
    stock(api, "B", "WH-B", 2)
    return api


def available(api: HandlerClient, **body: Any) -> dict[str, Any]:
    response = api.post("/availability", body)
    assert response.status == 200, response.text
    return {item["sku"]: item for item in response.json["items"]}


def test_availability_to_a_country_site_or_pickup_location(network: HandlerClient) -> None:
    assert available(network, skus=["A", "B", "NONE"], country="FR") == {
        "A": {
            "sku": "A",
            "available": 11,
            "locations": [
                {"location": "WH-A", "available": 4},
                {"location": "WH-B", "available": 6},
                {"location": "SHOP", "available": 1},
            ],
        },
        "B": {
            "sku": "B",
            "available": 2,
            "locations": [
                {"location": "WH-A", "available": 0},
                {"location": "WH-B", "available": 2},
                {"location": "SHOP", "available": 0},
            ],
        },
        "NONE": {
            "sku": "NONE",
            "available": 0,
            "locations": [
                {"location": "WH-A", "available": 0},
                {"location": "WH-B", "available": 0},
                {"location": "SHOP", "available": 0},
            ],
        },
    }
    assert available(network, skus=["A"], country="BE")["A"]["available"] == 4
    assert available(network, skus=["A"], country="JP")["A"] == {
        "sku": "A",
        "available": 0,
        "locations": [],
    }
    assert available(network, skus=["A"], site="S1")["A"]["available"] == 7
    assert available(network, skus=["A"], pickupAt="SHOP")["A"]["available"] == 1
    # What a hold takes is no longer available.
    held = {"items": [{"sku": "A", "location": "WH-B", "quantity": 5}]}
    assert network.post("/reservations", held).status == 201
    assert available(network, skus=["A"], country="FR")["A"]["available"] == 6


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"skus": ["A"]}, "body"),
        ({"skus": ["A"], "country": "FR", "site": "S1"}, "body"),
        ({"skus": [], "country": "FR"}, "body.skus"),
        ({"skus": ["A", "A"], "country": "FR"}, "body.skus"),
        ({"skus": [f"S{i}" for i in range(101)], "country": "FR"}, "body.skus"),
        ({"skus": ["A"], "country": "France"}, "body.country"),
        ({"skus": ["A"], "site": "NO-SUCH-SITE"}, "body.site"),
        ({"skus": ["A"], "pickupAt": "WH-A"}, "body.pickupAt"),  # not a pickup location
        ({"skus": ["A"], "pickupAt": "WH-ERP"}, "body.pickupAt"),  # not registered
    ],
)
def test_bad_availability_requests_are_400s_naming_the_field(
    network: HandlerClient, body: dict[str, Any], field: str
) -> None:
    response = network.post("/availability", body)
    assert response.status == 400, response.text
    assert field in [d["field"] for d in response.json["details"]], response.json


def test_availability_is_a_read_an_idempotency_key_does_not_replay(
    network: HandlerClient,
) -> None:
    headers = {"Idempotency-Key": "same-key"}
    first = network.post("/availability", {"skus": ["A"], "country": "FR"}, headers=headers)
    other = network.post("/availability", {"skus": ["B"], "country": "FR"}, headers=headers)
    assert (first.status, other.status) == (200, 200)
    assert other.json["items"][0]["sku"] == "B"  # answered afresh, not replayed nor refused
    assert "Idempotent-Replayed" not in other.headers
