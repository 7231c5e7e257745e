"""GET /reservations: holds by order, status and time, from the sparse indexes, on both
engines; pages with a signed nextToken."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.clock import ManualClock
from tests.support.api_client import ADMIN, HandlerClient, Identity

OTHER = Identity("marketplace")


def place(api: HandlerClient, rid: str, clock: ManualClock, **extra: Any) -> None:
    body = {"id": rid, "items": [{"sku": "S", "location": "WH1", "quantity": 1}], **extra}
    response = api.post("/reservations", body)
    assert response.status == 201, response.text
    clock.advance(10)  # distinct creation times, so "newest first" is well defined


@pytest.fixture
def holds(api: HandlerClient, clock: ManualClock) -> HandlerClient:
    assert api.put("/inventory/S/locations/WH1", {"onHand": 100}).status == 200
    place(api, "a1", clock, orderId="o-1")
    place(api, "a2", clock, orderId="o-2", expiresInSeconds=31)
    place(api, "a3", clock, orderId="o-1")
    place(api.as_(OTHER), "b1", clock, orderId="o-1")
    return api


def ids(response: Any) -> list[str]:
    assert response.status == 200, response.text
    return [r["id"] for r in response.json["reservations"]]


def test_by_order_the_callers_own_holds_newest_first(holds: HandlerClient) -> None:
    assert ids(holds.get("/reservations", query={"orderId": "o-1"})) == ["a3", "a1"]
    assert ids(holds.as_(OTHER).get("/reservations", query={"orderId": "o-1"})) == ["b1"]


def test_an_admin_finds_an_order_in_every_channel_or_in_one(holds: HandlerClient) -> None:
    admin = holds.as_(ADMIN)
    assert ids(admin.get("/reservations", query={"orderId": "o-1"})) == ["b1", "a3", "a1"]
    only = admin.get("/reservations", query={"orderId": "o-1", "channel": OTHER.channel})
    assert ids(only) == ["b1"]


def test_a_summary_shows_the_header(holds: HandlerClient) -> None:
    [found] = holds.get("/reservations", query={"orderId": "o-2"}).json["reservations"]
    assert found["channel"] == "storefront"
    assert (found["status"], found["lineCount"], found["orderId"]) == ("ACTIVE", 1, "o-2")
    assert found["createdAt"] == holds.get("/reservations/a2").json["createdAt"]


def test_by_status_as_read_now(holds: HandlerClient, clock: ManualClock) -> None:
    clock.advance(1)  # a2 (31 s) is now past its expiry; nothing swept it
    assert ids(holds.get("/reservations", query={"status": "ACTIVE"})) == ["a3", "a1"]
    assert ids(holds.get("/reservations", query={"status": "EXPIRED"})) == ["a2"]
    assert holds.post("/reservations/a1/confirm").status == 200
    assert ids(holds.get("/reservations", query={"status": "CONFIRMED"})) == ["a1"]


def test_created_after(holds: HandlerClient) -> None:
    created = holds.get("/reservations/a2").json["createdAt"]
    assert ids(holds.get("/reservations", query={"createdAfter": created})) == ["a3"]


def test_pages_follow_the_token_to_the_end(holds: HandlerClient, clock: ManualClock) -> None:
    for index in range(4, 8):
        place(holds, f"a{index}", clock)
    seen: list[str] = []
    query: dict[str, str] = {"limit": "2"}
    pages = 0
    while True:
        page = holds.get("/reservations", query=query)
        seen += ids(page)
        pages += 1
        token = page.json.get("nextToken")
        if token is None:
            break
        query = {"limit": "2", "nextToken": token}
    assert seen == ["a7", "a6", "a5", "a4", "a3", "a2", "a1"]
    assert pages in (4, 5)  # DynamoDB may say "maybe more" on an exactly full last page


def test_an_order_set_by_a_cart_update_is_found(holds: HandlerClient) -> None:
    cart = {"items": [{"sku": "S", "location": "WH1", "quantity": 2}], "orderId": "o-9"}
    assert holds.put("/reservations/a2/items", cart).status == 200
    assert ids(holds.get("/reservations", query={"orderId": "o-9"})) == ["a2"]


def test_a_token_cannot_be_forged_or_moved_to_another_query(holds: HandlerClient) -> None:
    first = holds.get("/reservations", query={"limit": "1"})
    token = first.json["nextToken"]
    body, mac = token.split(".")
    forged = [
        "garbage",
        "a.b.c",
        f"{body}.{mac[:-2]}xy",
        f"{body[:-2]}xy.{mac}",
    ]
    for bad in forged:
        refused = holds.get("/reservations", query={"limit": "1", "nextToken": bad})
        assert refused.status == 400, bad
        assert refused.json["details"][0]["field"] == "query.nextToken"
    # The same token, carried to another query (another channel, or an order), is refused.
    for other in (holds.as_(OTHER), holds):
        moved = other.get("/reservations", query={"orderId": "o-1", "nextToken": token})
        assert moved.status == 400
    assert ids(holds.get("/reservations", query={"limit": "1", "nextToken": token})) == ["a2"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"status": "SOLD"}, "query.status"),
        ({"limit": "0"}, "query.limit"),
        ({"limit": "201"}, "query.limit"),
        ({"createdAfter": "yesterday"}, "query.createdAfter"),
        ({"orderId": "no spaces"}, "query.orderId"),
    ],
)
def test_bad_queries_are_400s_naming_the_field(
    holds: HandlerClient, query: dict[str, str], field: str
) -> None:
    response = holds.get("/reservations", query=query)
    assert response.status == 400, response.text
    assert response.json["details"][0]["field"] == field


def test_only_an_admin_names_another_channel(holds: HandlerClient) -> None:
    refused = holds.get("/reservations", query={"channel": OTHER.channel})
    assert refused.status == 403
    assert refused.json["details"][0]["field"] == "query.channel"
    assert ids(holds.get("/reservations", query={"channel": "storefront", "limit": "1"})) == ["a3"]
    admin = holds.as_(ADMIN)
    assert ids(admin.get("/reservations", query={"channel": OTHER.channel})) == ["b1"]
    needs_a_channel = admin.get("/reservations")
    assert needs_a_channel.status == 400
    assert needs_a_channel.json["details"][0]["field"] == "query.channel"
