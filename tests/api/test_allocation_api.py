"""Reserving without naming the location (issue 14), through the real handler, on both
engines: the service chooses, atomically, and says what it chose."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.service import ReservationService
from tests.support.api_client import HandlerClient
from tests.support.invariants import check_invariants

FR = {"address": {"country": "FR", "postalCode": "75001"}, "name": "Camille"}


def register(api: HandlerClient, location: str, **body: Any) -> None:
    assert api.put(f"/locations/{location}", body).status == 200


def stock(api: HandlerClient, sku: str, location: str, on_hand: int) -> None:
    assert api.put(f"/inventory/{sku}/locations/{location}", {"onHand": on_hand}).status == 200


def level(api: HandlerClient, sku: str, location: str) -> tuple[int, int, int]:
    found = next(
        x for x in api.get(f"/inventory/{sku}").json["locations"] if x["location"] == location
    )
    return found["onHand"], found["reserved"], found["available"]


def placed(body: dict[str, Any]) -> dict[str, Any]:
    """sku -> where its line went: a location, or the parts of a split line."""
    found: dict[str, Any] = {}
    for item in body["items"]:
        parts = item.get("allocations")
        found[item["sku"]] = (
            item["location"] if parts is None else [(p["location"], p["quantity"]) for p in parts]
        )
    return found


@pytest.fixture
def network(api: HandlerClient) -> HandlerClient:
    """Three warehouses shipping to France, a Paris shop for click-and-collect, and stock."""
    register(api, "WH-A", country="FR", priority=1, active=True, shipsTo=["FR", "BE"])
    register(api, "WH-B", country="FR", priority=2, active=True, site="S-SOUTH")
    register(api, "WH-C", country="GB", priority=3, active=True, shipsTo=["*"])
    register(api, "SHOP", country="FR", priority=9, active=True, site="S-PARIS", pickup=True)
    for sku, where in {
        "MUG": {"WH-A": 5, "WH-B": 5, "WH-C": 50, "SHOP": 2},
        "CUP": {"WH-B": 3, "WH-C": 1},
        "TEA": {"WH-A": 1, "WH-B": 2, "WH-C": 4},
    }.items():
        for location, on_hand in where.items():
            stock(api, sku, location, on_hand)
    return api


def reserve(api: HandlerClient, items: list[dict[str, Any]], **extra: Any) -> Any:
    return api.post("/reservations", {"items": items, "shipTo": FR, **extra})


def test_the_lowest_priority_location_serves_a_cart_it_can_serve_whole(
    network: HandlerClient, engine_client: Any, engine_table: str
) -> None:
    response = reserve(network, [{"sku": "MUG", "quantity": 2}])
    assert response.status == 201, response.text
    item = response.json["items"][0]
    assert (item["location"], item["allocated"], item["held"]) == ("WH-A", True, 2)
    assert "allocations" not in item
    assert response.json["shipTo"] == {"country": "FR", "postalCode": "75001"}
    assert level(network, "MUG", "WH-A") == (5, 2, 3)
    assert network.get(f"/reservations/{response.json['id']}").json == response.json
    assert check_invariants(engine_client, engine_table).warnings == []


def test_one_shipment_is_preferred_to_the_preferred_location(network: HandlerClient) -> None:
    # WH-A has mugs but no cups: WH-B has both, so both lines ship from WH-B.
    response = reserve(network, [{"sku": "MUG", "quantity": 2}, {"sku": "CUP", "quantity": 1}])
    assert response.status == 201, response.text
    assert placed(response.json) == {"MUG": "WH-B", "CUP": "WH-B"}


def test_without_split_an_order_no_location_can_serve_is_409_with_the_countrys_stock(
    network: HandlerClient, engine_client: Any, engine_table: str
) -> None:
    before = engine_client.scan(TableName=engine_table)["Count"]
    response = reserve(network, [{"sku": "TEA", "quantity": 3}, {"sku": "CUP", "quantity": 3}])
    assert response.status == 409, response.text
    assert response.json["error"] == "INSUFFICIENT_STOCK"
    # WH-B serves the cups; what one shipment from it lacks is tea: 7 for France in all.
    assert response.json["items"] == [
        {
            "sku": "TEA",
            "location": None,
            "requested": 3,
            "available": 7,
            "country": "FR",
            "locations": [
                {"location": "WH-A", "available": 1},
                {"location": "WH-B", "available": 2},
                {"location": "WH-C", "available": 4},
                {"location": "SHOP", "available": 0},
            ],
        }
    ]
    assert "allowSplit" in response.json["message"]
    assert engine_client.scan(TableName=engine_table)["Count"] == before  # nothing held


def test_with_split_lines_go_where_they_can_and_a_line_splits_by_priority(
    network: HandlerClient, engine_client: Any, engine_table: str
) -> None:
    response = reserve(
        network,
        [{"sku": "TEA", "quantity": 6}, {"sku": "CUP", "quantity": 3}],
        allowSplit=True,
    )
    assert response.status == 201, response.text
    assert placed(response.json) == {
        "TEA": [("WH-A", 1), ("WH-B", 2), ("WH-C", 3)],
        "CUP": "WH-B",
    }
    tea = response.json["items"][0]
    assert (tea["location"], tea["quantity"], tea["held"]) == (None, 6, 6)
    assert response.json["allowSplit"] is True
    rid = response.json["id"]
    # A part of a split line is released or shipped by its own (sku, location).
    released = network.post(
        f"/reservations/{rid}/release",
        {"items": [{"sku": "TEA", "location": "WH-C", "quantity": 3}]},
    )
    assert released.status == 200, released.text
    assert placed(released.json)["TEA"] == [("WH-A", 1), ("WH-B", 2), ("WH-C", 3)]
    assert released.json["items"][0]["held"] == 3
    assert level(network, "TEA", "WH-C") == (4, 0, 4)
    check_invariants(engine_client, engine_table)


def test_inactive_and_unregistered_locations_are_never_chosen(
    network: HandlerClient, engine_client: Any, engine_table: str
) -> None:
    stock(network, "MUG", "WH-ERP", 1000)  # stock the ERP sent, nobody registered
    register(network, "WH-A", country="FR", priority=1, active=False)  # keeps its stock
    response = reserve(network, [{"sku": "MUG", "quantity": 5}])
    assert placed(response.json) == {"MUG": "WH-B"}
    short = reserve(network, [{"sku": "MUG", "quantity": 60}])
    assert short.status == 409
    # Neither the inactive warehouse nor the unregistered one counts for France: WH-B's
    # mugs are held, WH-C ships anywhere, the shop ships in France.
    assert short.json["items"][0]["available"] == 0 + 50 + 2
    assert level(network, "MUG", "WH-A") == (5, 0, 5)
    check_invariants(engine_client, engine_table)


def test_pickup_holds_every_location_less_line_at_the_pickup_location(
    network: HandlerClient,
) -> None:
    response = network.post(
        "/reservations", {"items": [{"sku": "MUG", "quantity": 2}], "pickupAt": "SHOP"}
    )
    assert response.status == 201, response.text
    assert placed(response.json) == {"MUG": "SHOP"}
    assert response.json["pickupAt"] == "SHOP"
    short = network.post(
        "/reservations", {"items": [{"sku": "MUG", "quantity": 1}], "pickupAt": "SHOP"}
    )
    assert short.status == 409
    assert short.json["items"][0]["location"] == "SHOP"
    not_pickup = network.post(
        "/reservations", {"items": [{"sku": "MUG", "quantity": 1}], "pickupAt": "WH-A"}
    )
    assert not_pickup.status == 400
    assert not_pickup.json["details"][0]["field"] == "body.pickupAt"


def test_a_site_line_is_held_at_a_location_of_the_site(network: HandlerClient) -> None:
    response = network.post(
        "/reservations",
        {
            "items": [
                {"sku": "MUG", "site": "S-PARIS", "quantity": 1},
                {"sku": "CUP", "location": "WH-C", "quantity": 1},
            ]
        },
    )
    assert response.status == 201, response.text
    mug, cup = response.json["items"]
    assert (mug["location"], mug["site"], mug["allocated"]) == ("SHOP", "S-PARIS", True)
    assert (cup["location"], "allocated" in cup, "site" in cup) == ("WH-C", False, False)
    unknown = network.post(
        "/reservations", {"items": [{"sku": "MUG", "site": "S-NOWHERE", "quantity": 1}]}
    )
    assert unknown.status == 400
    assert unknown.json["details"][0]["field"] == "body.items[0].site"


def test_a_replay_answers_the_allocation_already_made(
    network: HandlerClient, engine_client: Any, engine_table: str
) -> None:
    body = {
        "id": "alloc-1",
        "items": [{"sku": "MUG", "quantity": 3}],
        "shipTo": FR,
        "shippingChoice": {"amount": 4.95, "serviceLevel": "SG"},
    }
    first = network.post("/reservations", body)
    assert first.status == 201, first.text
    assert first.json["shippingChoice"] == {"amount": 4.95, "serviceLevel": "SG"}
    stock(network, "MUG", "WH-A", 3)  # all of it is held now: a new plan would differ
    again = network.post("/reservations", body)
    assert again.status == 200, again.text
    assert again.json == first.json
    assert level(network, "MUG", "WH-A") == (3, 3, 0)
    # A name is not kept, so it is the same request; the country is not.
    renamed = network.post("/reservations", {**body, "shipTo": {**FR, "name": "Dominique"}})
    assert renamed.status == 200
    moved = {**body, "shipTo": {"address": {"country": "BE"}}}
    assert network.post("/reservations", moved).json["error"] == "IDEMPOTENCY_CONFLICT"
    check_invariants(engine_client, engine_table)


def test_a_hold_that_names_every_location_answers_as_before(network: HandlerClient) -> None:
    response = network.post(
        "/reservations", {"items": [{"sku": "MUG", "location": "WH-C", "quantity": 1}]}
    )
    assert response.status == 201
    assert set(response.json) == {
        "id", "status", "channel", "orderId", "items", "createdAt", "expiresAt"
    }  # fmt: skip
    assert set(response.json["items"][0]) == {
        "sku", "location", "quantity", "allowOversell", "held", "released", "consumed", "offset"
    }  # fmt: skip


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"items": [{"sku": "MUG", "quantity": 1}]}, "body.items[0].location"),
        (
            {"items": [{"sku": "MUG", "quantity": 1, "allowOversell": True}], "shipTo": FR},
            "body.items[0].allowOversell",
        ),
        (
            {"items": [{"sku": "MUG", "location": "WH-A", "site": "S", "quantity": 1}]},
            "body.items[0].site",
        ),
        (
            {"items": [{"sku": "MUG", "quantity": 1}], "shipTo": FR, "pickupAt": "SHOP"},
            "body.pickupAt",
        ),
        (
            {
                "items": [
                    {"sku": "MUG", "quantity": 1},
                    {"sku": "MUG", "location": "WH-A", "quantity": 1},
                ],
                "shipTo": FR,
            },
            "body.items",
        ),
        (
            {"items": [{"sku": "MUG", "quantity": 1}], "shipTo": {"address": {"country": "FRA"}}},
            "body.shipTo.address.country",
        ),
        (
            {"items": [{"sku": "MUG", "quantity": 1}], "shipTo": {"country": "FR"}},
            "body.shipTo.address",
        ),
        (
            {
                "items": [{"sku": "MUG", "quantity": 1}],
                "shipTo": FR,
                "shippingChoice": {"amount": -1},
            },
            "body.shippingChoice.amount",
        ),
        (
            {"items": [{"sku": "MUG", "quantity": 1}], "shipTo": FR, "allowSplit": "yes"},
            "body.allowSplit",
        ),
    ],
)
def test_bad_location_less_requests_are_400s_naming_the_field(
    network: HandlerClient, body: dict[str, Any], field: str
) -> None:
    response = network.post("/reservations", body)
    assert response.status == 400, response.text
    assert any(d["field"].startswith(field) for d in response.json["details"]), response.json


def test_an_allocation_over_the_transaction_limit_is_a_400(
    network: HandlerClient, service: ReservationService
) -> None:
    # 25 lines, each split over two warehouses: 50 stored lines, one more than a hold has.
    for index in range(25):
        service.set_on_hand(f"BULK-{index}", "WH-A", 1)
        service.set_on_hand(f"BULK-{index}", "WH-B", 1)
    items = [{"sku": f"BULK-{index}", "quantity": 2} for index in range(25)]
    response = reserve(network, items, allowSplit=True)
    assert response.status == 400, response.text
    assert response.json["details"][0]["field"] == "body.items"
    assert "50 lines" in response.json["details"][0]["reason"]
    fewer = reserve(network, items[:2], allowSplit=True)  # 4 stored lines
    assert fewer.status == 201, fewer.text
    assert [len(item["allocations"]) for item in fewer.json["items"]] == [2, 2]


# --- the cart update ----------------------------------------------------------------------


def test_the_cart_update_takes_location_less_lines(
    network: HandlerClient, engine_client: Any, engine_table: str
) -> None:
    placed_hold = reserve(network, [{"sku": "MUG", "quantity": 2}], allowSplit=True)
    rid = placed_hold.json["id"]

    def cart(*items: dict[str, Any]) -> Any:
        response = network.put(f"/reservations/{rid}/items", {"items": list(items)})
        assert response.status == 200, response.text
        return response.json

    # Grows where it is while it can, then splits by priority (the hold allows it).
    assert placed(cart({"sku": "MUG", "quantity": 5})) == {"MUG": "WH-A"}
    grown = cart({"sku": "MUG", "quantity": 8})
    assert placed(grown) == {"MUG": [("WH-A", 5), ("WH-B", 3)]}
    # Shrinks the least preferred first; a new location-less sku is allocated too.
    shrunk = cart({"sku": "MUG", "quantity": 4}, {"sku": "CUP", "quantity": 1})
    assert placed(shrunk) == {"MUG": [("WH-A", 4), ("WH-B", 0)], "CUP": "WH-B"}
    assert level(network, "MUG", "WH-B") == (5, 0, 5)
    # A named line for the sku takes it back from allocation.
    named = cart({"sku": "MUG", "location": "WH-A", "quantity": 4}, {"sku": "CUP", "quantity": 1})
    mugs = [item for item in named["items"] if item["sku"] == "MUG"]
    assert mugs == [
        {"sku": "MUG", "location": "WH-A", "quantity": 4, "allowOversell": False,
         "held": 4, "released": 1, "consumed": 0, "offset": 0},
        {"sku": "MUG", "location": "WH-B", "quantity": 0, "allowOversell": False,
         "held": 0, "released": 3, "consumed": 0, "offset": 0},
    ]  # fmt: skip
    short = network.put(f"/reservations/{rid}/items", {"items": [{"sku": "MUG", "quantity": 99}]})
    assert short.status == 409
    assert short.json["items"][0]["country"] == "FR"
    check_invariants(engine_client, engine_table)


def test_a_keyed_cart_update_replays_the_allocation_it_made(
    network: HandlerClient, engine_client: Any, engine_table: str
) -> None:
    rid = reserve(network, [{"sku": "MUG", "quantity": 2}]).json["id"]
    body = {"items": [{"sku": "MUG", "quantity": 2}, {"sku": "TEA", "quantity": 1}]}
    key = {"Idempotency-Key": "cart-1"}
    first = network.put(f"/reservations/{rid}/items", body, headers=key)
    assert first.status == 200, first.text
    # The new location-less line joins the hold's shipment: WH-A ships the mugs already.
    assert placed(first.json) == {"MUG": "WH-A", "TEA": "WH-A"}
    assert level(network, "TEA", "WH-A") == (1, 1, 0)
    stock(network, "TEA", "WH-B", 0)  # the stock moved: a new plan could not be the same
    again = network.put(f"/reservations/{rid}/items", body, headers=key)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert (again.status, again.json) == (200, first.json)
    assert level(network, "TEA", "WH-A") == (1, 1, 0)
    # The fingerprint is the request as sent: the same cart with a location is another one.
    named = {"items": [{"sku": "MUG", "location": "WH-A", "quantity": 2}, body["items"][1]]}
    reused = network.put(f"/reservations/{rid}/items", named, headers=key)
    assert (reused.status, reused.json["error"]) == (422, "IDEMPOTENCY_KEY_REUSED")
    check_invariants(engine_client, engine_table)


def test_a_hold_without_shipto_takes_no_location_less_cart_line_that_needs_more(
    network: HandlerClient,
) -> None:
    located = [{"sku": "MUG", "location": "WH-A", "quantity": 1}]
    rid = network.post("/reservations", {"items": located}).json["id"]
    # What it holds already covers it: nothing to allocate, nowhere to look.
    same = network.put(f"/reservations/{rid}/items", {"items": [{"sku": "MUG", "quantity": 1}]})
    assert same.status == 200, same.text
    refused = network.put(f"/reservations/{rid}/items", {"items": [{"sku": "MUG", "quantity": 2}]})
    assert refused.status == 400
    assert refused.json["details"][0]["field"] == "body.items[0].location"
