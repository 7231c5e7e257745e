"""The HTTP contract of the core service, on both engines: reserving, idempotent replays,
reading and cancelling holds, stock levels, and the Location of a created hold."""

from __future__ import annotations

import json
from typing import Any

import api_function
from local.apigw import LambdaContext, proxy_event
from reservations.clock import ManualClock
from tests.support.api_client import DEFAULT_IDENTITY, HandlerClient
from tests.support.invariants import check_invariants
from tests.support.reservation_requests import inventory, line, stock


class TestReserve:
    def test_holds_every_item_and_reports_it(self, api: HandlerClient, clock: ManualClock) -> None:
        stock(api, "SKU-1", "WH1", 5)
        stock(api, "SKU-2", "WH1", 3)
        response = api.post(
            "/reservations",
            {
                "id": "checkout-1",
                "orderId": "order-9",
                "expiresInSeconds": 600,
                "items": [line("SKU-1", 2), line("SKU-2", 3)],
            },
        )
        assert response.status == 201, response.text
        body = response.json
        assert body["id"] == "checkout-1"
        assert body["status"] == "ACTIVE"
        assert body["orderId"] == "order-9"
        assert body["channel"] == "storefront"
        assert [(i["sku"], i["quantity"]) for i in body["items"]] == [("SKU-1", 2), ("SKU-2", 3)]
        assert body["expiresAt"] > body["createdAt"]
        assert [(i["held"], i["released"], i["consumed"]) for i in body["items"]] == [
            (2, 0, 0),
            (3, 0, 0),
        ]
        one = inventory(api, "SKU-1")
        assert (one["onHand"], one["reserved"], one["available"]) == (5, 2, 3)
        two = inventory(api, "SKU-2")
        assert (two["onHand"], two["reserved"], two["available"]) == (3, 3, 0)

    def test_generates_a_sortable_id_when_none_is_given(
        self, api: HandlerClient, clock: ManualClock
    ) -> None:
        stock(api, "SKU-1", "WH1", 10)
        first = api.post("/reservations", {"items": [line("SKU-1", 1)]}).json["id"]
        clock.advance(1)
        second = api.post("/reservations", {"items": [line("SKU-1", 1)]}).json["id"]
        assert first != second
        assert first < second
        assert api.get(f"/reservations/{first}").status == 200

    def test_all_or_nothing_names_every_short_item_with_its_availability(
        self, api: HandlerClient
    ) -> None:
        stock(api, "SKU-1", "WH1", 5)
        stock(api, "SKU-2", "WH1", 1)
        response = api.post(
            "/reservations",
            {
                "items": [
                    line("SKU-1", 6),
                    line("SKU-2", 1),
                    line("GHOST", 1),
                    line("SKU-2", 2, "WH9"),
                ]
            },
        )
        assert response.status == 409, response.text
        body = response.json
        assert body["error"] == "INSUFFICIENT_STOCK"
        assert body["items"] == [
            {"sku": "SKU-1", "location": "WH1", "requested": 6, "available": 5},
            {"sku": "GHOST", "location": "WH1", "requested": 1, "available": 0},
            {"sku": "SKU-2", "location": "WH9", "requested": 2, "available": 0},
        ]
        # Nothing was held, not even the line that had stock.
        assert inventory(api, "SKU-2")["reserved"] == 0
        assert inventory(api, "SKU-1")["reserved"] == 0

    def test_the_last_unit_goes_once(self, api: HandlerClient) -> None:
        stock(api, "SKU-1", "WH1", 1)
        assert api.post("/reservations", {"items": [line("SKU-1", 1)]}).status == 201
        second = api.post("/reservations", {"items": [line("SKU-1", 1)]})
        assert second.status == 409
        assert second.json["items"][0]["available"] == 0

    def test_allow_oversell_holds_below_zero(self, api: HandlerClient) -> None:
        stock(api, "SKU-1", "WH1", 1)
        response = api.post(
            "/reservations",
            {
                "items": [
                    line("SKU-1", 3, allowOversell=True),
                    line("NEW-SKU", 2, allowOversell=True),
                ]
            },
        )
        assert response.status == 201, response.text
        one = inventory(api, "SKU-1")
        assert (one["onHand"], one["reserved"], one["available"]) == (1, 3, -2)
        new = inventory(api, "NEW-SKU")
        assert (new["onHand"], new["reserved"], new["available"]) == (0, 2, -2)

    def test_oversell_line_does_not_excuse_a_short_strict_line(self, api: HandlerClient) -> None:
        stock(api, "SKU-1", "WH1", 1)
        stock(api, "SKU-2", "WH1", 0)
        response = api.post(
            "/reservations", {"items": [line("SKU-1", 5, allowOversell=True), line("SKU-2", 1)]}
        )
        assert response.status == 409
        assert [i["sku"] for i in response.json["items"]] == ["SKU-2"]
        assert inventory(api, "SKU-1")["reserved"] == 0


class TestIdempotency:
    def test_same_id_and_body_returns_the_same_reservation_and_holds_nothing_more(
        self, api: HandlerClient, clock: ManualClock
    ) -> None:
        stock(api, "SKU-1", "WH1", 5)
        request = {"id": "checkout-7", "items": [line("SKU-1", 2)]}
        first = api.post("/reservations", request)
        clock.advance(30)
        again = api.post("/reservations", request)
        assert (first.status, again.status) == (201, 200)
        assert again.json == first.json
        assert inventory(api, "SKU-1")["reserved"] == 2

    def test_same_id_with_a_different_body_is_a_conflict(self, api: HandlerClient) -> None:
        stock(api, "SKU-1", "WH1", 5)
        assert api.post("/reservations", {"id": "c-1", "items": [line("SKU-1", 2)]}).status == 201
        other = api.post("/reservations", {"id": "c-1", "items": [line("SKU-1", 3)]})
        assert other.status == 409
        assert other.json["error"] == "IDEMPOTENCY_CONFLICT"
        assert inventory(api, "SKU-1")["reserved"] == 2

    def test_replay_after_cancel_returns_the_cancelled_reservation(
        self, api: HandlerClient
    ) -> None:
        stock(api, "SKU-1", "WH1", 5)
        request = {"id": "c-2", "items": [line("SKU-1", 2)]}
        api.post("/reservations", request)
        api.delete("/reservations/c-2")
        replay = api.post("/reservations", request)
        assert replay.status == 200
        assert replay.json["status"] == "CANCELLED"
        assert inventory(api, "SKU-1")["reserved"] == 0


class TestReadAndCancel:
    def test_get_unknown_is_404(self, api: HandlerClient) -> None:
        response = api.get("/reservations/nope")
        assert response.status == 404
        assert response.json["error"] == "NOT_FOUND"

    def test_cancel_releases_once(
        self, api: HandlerClient, engine_client: Any, engine_table: str
    ) -> None:
        stock(api, "SKU-1", "WH1", 5)
        stock(api, "SKU-1", "WH2", 5)
        api.post(
            "/reservations", {"id": "c-3", "items": [line("SKU-1", 2), line("SKU-1", 4, "WH2")]}
        )
        first = api.delete("/reservations/c-3")
        assert first.status == 200
        assert first.json["status"] == "CANCELLED"
        again = api.delete("/reservations/c-3")
        assert again.status == 200
        assert again.json["status"] == "CANCELLED"
        assert [(i["held"], i["released"]) for i in first.json["items"]] == [(0, 2), (0, 4)]
        totals = inventory(api, "SKU-1")
        assert (totals["onHand"], totals["reserved"], totals["available"]) == (10, 0, 10)
        assert api.get("/reservations/c-3").json["status"] == "CANCELLED"
        check_invariants(engine_client, engine_table)

    def test_cancel_unknown_is_404(self, api: HandlerClient) -> None:
        assert api.delete("/reservations/nope").status == 404


class TestInventory:
    def test_lists_locations_and_totals(self, api: HandlerClient) -> None:
        stock(api, "SKU-1", "WH1", 5)
        stock(api, "SKU-1", "STORE-7", 2)
        body = inventory(api, "SKU-1")
        assert body["sku"] == "SKU-1"
        assert {loc["location"]: loc["onHand"] for loc in body["locations"]} == {
            "WH1": 5,
            "STORE-7": 2,
        }
        assert (body["onHand"], body["reserved"], body["available"]) == (7, 0, 7)

    def test_unknown_sku_is_404(self, api: HandlerClient) -> None:
        assert api.get("/inventory/NOPE").status == 404

    def test_setting_on_hand_keeps_holds(
        self, api: HandlerClient, engine_client: Any, engine_table: str
    ) -> None:
        stock(api, "SKU-1", "WH1", 5)
        api.post("/reservations", {"items": [line("SKU-1", 4)]})
        response = api.put("/inventory/SKU-1/locations/WH1", {"onHand": 2})
        assert response.status == 200
        assert (response.json["onHand"], response.json["reserved"], response.json["available"]) == (
            2,
            4,
            -2,
        )
        check_invariants(engine_client, engine_table)


def test_a_created_reservation_says_where_it_is(api: HandlerClient) -> None:
    assert api.put("/inventory/LOC-A/locations/WH1", {"onHand": 2}).status == 200
    body = {"id": "loc-1", "items": [{"sku": "LOC-A", "location": "WH1", "quantity": 1}]}
    created = api.post("/reservations", body)
    assert created.status == 201
    assert created.headers["Location"] == "/reservations/loc-1"
    assert api.get(created.headers["Location"]).json["id"] == "loc-1"


def test_the_location_keeps_the_stage_the_client_called(api: HandlerClient) -> None:
    """Through the execute-api URL the client calls /<stage>/reservations: so does Location."""
    assert api.put("/inventory/LOC-B/locations/WH1", {"onHand": 2}).status == 200
    body = {"id": "loc-2", "items": [{"sku": "LOC-B", "location": "WH1", "quantity": 1}]}
    claims = {"claims": DEFAULT_IDENTITY.claims()}
    event = proxy_event(
        "POST",
        "/reservations",
        {"Content-Type": "application/json"},
        json.dumps(body),
        authorizer=claims,
    )
    event["requestContext"]["path"] = "/prod/reservations"
    result = api_function.lambda_handler(event, LambdaContext())
    assert result["statusCode"] == 201
    headers = {
        **(result.get("headers") or {}),
        **{k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()},
    }
    assert headers["Location"] == "/prod/reservations/loc-2"
