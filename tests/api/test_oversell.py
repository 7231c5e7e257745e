"""allowOversell through the real handler: its own scope, and a bound no request can pass.

Issue 11, item 3: one channel's single allowOversell line of 10^9 units set ``available``
to -999,999,900, and every other channel's strict reserve was refused from then on. Now a
line that asks to oversell needs ``reservations/oversell`` (403 otherwise), and no
oversell takes a stock record's ``available`` below ``-MAX_OVERSELL_PER_RECORD`` (409
``OVERSELL_LIMIT`` naming the line otherwise), checked in the stock update itself.
"""

from __future__ import annotations

from typing import Any

import pytest

import api_function
import route_dependencies
from reservations.clock import ManualClock
from reservations.config import Settings
from reservations.service import ReservationService
from reservations.store import Store
from reservations.store.retry import RetryPolicy
from tests.support.api_client import HandlerClient, Identity

LIMIT = 100
THIRTY_DAYS = 30 * 24 * 3600
SALES = ("reservations/read", "reservations/write", "inventory/read")
STOREFRONT = Identity("storefront", SALES)
CALL_CENTRE = Identity("callcentre", (*SALES, "reservations/oversell"))
BACK_OFFICE = Identity("backoffice", ("inventory/read", "inventory/write"))


@pytest.fixture
def api(
    engine_client: Any,
    engine_table: str,
    clock: ManualClock,
    fast_retries: RetryPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> HandlerClient:
    settings = Settings(table_name=engine_table, max_oversell_per_record=LIMIT)
    service = ReservationService(Store(engine_client, engine_table), clock, settings, fast_retries)
    overrides = api_function.app.dependency_overrides
    monkeypatch.setitem(overrides, route_dependencies.get_service, lambda: service)
    return HandlerClient(api_function.lambda_handler)


def line(sku: str, quantity: int, *, oversell: bool = False) -> dict[str, Any]:
    return {"sku": sku, "location": "WH1", "quantity": quantity, "allowOversell": oversell}


def stock(api: HandlerClient, sku: str, on_hand: int) -> None:
    response = api.as_(BACK_OFFICE).put(f"/inventory/{sku}/locations/WH1", {"onHand": on_hand})
    assert response.status == 200, response.text


def level(api: HandlerClient, sku: str) -> tuple[int, int, int] | None:
    response = api.as_(BACK_OFFICE).get(f"/inventory/{sku}")
    if response.status == 404:
        return None
    body = response.json
    return body["onHand"], body["reserved"], body["available"]


def reserve(api: HandlerClient, identity: Identity, *items: dict[str, Any], **extra: Any) -> Any:
    return api.as_(identity).post("/reservations", {"items": list(items), **extra})


def test_allow_oversell_needs_the_oversell_scope(api: HandlerClient) -> None:
    stock(api, "POSTER", 3)
    refused = reserve(
        api, STOREFRONT, line("POSTER", 1), line("POSTER-B", 5, oversell=True), id="sf-1"
    )
    assert refused.status == 403
    assert refused.json == {
        "error": "FORBIDDEN",
        "message": "allowOversell needs the reservations/oversell scope",
        "details": [
            {
                "field": "body.items[1].allowOversell",
                "reason": "allowOversell needs the reservations/oversell scope",
            }
        ],
    }
    # Nothing held, nothing created: not the hold, not the never-stocked record.
    assert api.as_(STOREFRONT).get("/reservations/sf-1").status == 404
    assert (level(api, "POSTER"), level(api, "POSTER-B")) == ((3, 0, 3), None)
    # Without allowOversell the same channel reserves as before.
    assert reserve(api, STOREFRONT, line("POSTER", 1)).status == 201
    assert reserve(api, CALL_CENTRE, line("POSTER-B", 5, oversell=True)).status == 201
    assert (level(api, "POSTER"), level(api, "POSTER-B")) == ((3, 1, 2), (0, 5, -5))


def test_a_huge_oversell_is_refused_and_blocks_no_one(api: HandlerClient) -> None:
    """The issue's reproduction: 10^9 units for 30 days."""
    stock(api, "POSTER", 3)
    huge = line("POSTER", 1_000_000_000, oversell=True)
    refused = reserve(
        api, CALL_CENTRE, line("MUG", 1, oversell=True), huge, expiresInSeconds=THIRTY_DAYS
    )
    assert refused.status == 409, refused.text
    body = refused.json
    assert body["error"] == "OVERSELL_LIMIT"
    assert body["items"] == [
        {"sku": "POSTER", "location": "WH1", "requested": 1_000_000_000, "available": 3}
    ]
    assert body["details"] == [
        {
            "field": "body.items[1].quantity",
            "reason": "at most 103 more can be oversold at POSTER/WH1 "
            f"(available 3, oversell limit {LIMIT})",
        }
    ]
    assert str(LIMIT) in body["message"]
    # All or nothing: the line within the bound was not held either.
    assert (level(api, "POSTER"), level(api, "MUG")) == ((3, 0, 3), None)
    # Every other channel still reserves what is there.
    assert reserve(api, STOREFRONT, line("POSTER", 3)).status == 201
    assert level(api, "POSTER") == (3, 3, 0)


def test_oversell_stops_at_the_limit_of_the_record(api: HandlerClient) -> None:
    stock(api, "POSTER", 3)
    assert reserve(api, CALL_CENTRE, line("POSTER", 50, oversell=True)).status == 201
    assert level(api, "POSTER") == (3, 50, -47)
    # Exactly to the bound: available - quantity == -LIMIT is still granted.
    assert reserve(api, CALL_CENTRE, line("POSTER", 53, oversell=True)).status == 201
    assert level(api, "POSTER") == (3, 103, -LIMIT)
    one_more = reserve(api, CALL_CENTRE, line("POSTER", 1, oversell=True))
    assert (one_more.status, one_more.json["error"]) == (409, "OVERSELL_LIMIT")
    assert one_more.json["details"][0]["reason"].startswith("at most 0 more")
    # A strict line is refused as before, with its own code.
    strict = reserve(api, STOREFRONT, line("POSTER", 1))
    assert (strict.status, strict.json["error"]) == (409, "INSUFFICIENT_STOCK")
    assert level(api, "POSTER") == (3, 103, -LIMIT)
    # Stock that arrives is back-ordered stock first: the bound counts from available.
    stock(api, "POSTER", 203)
    assert level(api, "POSTER") == (203, 103, 100)
    assert reserve(api, CALL_CENTRE, line("POSTER", 200, oversell=True)).status == 201
    assert level(api, "POSTER") == (203, 303, -LIMIT)


def test_a_line_beyond_the_limit_is_granted_from_stock(api: HandlerClient) -> None:
    """The bound limits how far below zero, not how much one line may ask for."""
    stock(api, "POSTER", 1000)
    assert reserve(api, CALL_CENTRE, line("POSTER", 500, oversell=True)).status == 201
    assert level(api, "POSTER") == (1000, 500, 500)


def test_a_never_stocked_item_is_created_only_within_the_limit(api: HandlerClient) -> None:
    assert reserve(api, CALL_CENTRE, line("NEW-A", LIMIT, oversell=True)).status == 201
    assert level(api, "NEW-A") == (0, LIMIT, -LIMIT)
    refused = reserve(api, CALL_CENTRE, line("NEW-B", LIMIT + 1, oversell=True))
    assert (refused.status, refused.json["error"]) == (409, "OVERSELL_LIMIT")
    assert refused.json["items"][0]["available"] == 0  # no record: nothing available
    assert level(api, "NEW-B") is None


def test_the_refusal_names_every_refused_line_and_details_the_oversold_ones(
    api: HandlerClient,
) -> None:
    stock(api, "POSTER", 3)
    stock(api, "MUG", 1)
    refused = reserve(
        api,
        CALL_CENTRE,
        line("MUG", 2),
        line("CUP", 5),
        line("POSTER", 104, oversell=True),
    )
    assert refused.status == 409
    assert refused.json["error"] == "OVERSELL_LIMIT"
    assert [(i["sku"], i["available"]) for i in refused.json["items"]] == [
        ("MUG", 1),
        ("CUP", 0),
        ("POSTER", 3),
    ]
    assert [d["field"] for d in refused.json["details"]] == ["body.items[2].quantity"]
    assert (level(api, "POSTER"), level(api, "MUG"), level(api, "CUP")) == (
        (3, 0, 3),
        (1, 0, 1),
        None,
    )


def test_the_limit_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_OVERSELL_PER_RECORD", "7")
    assert Settings.from_env().max_oversell_per_record == 7
    monkeypatch.delenv("MAX_OVERSELL_PER_RECORD")
    assert Settings.from_env().max_oversell_per_record == 100  # the template's default too
