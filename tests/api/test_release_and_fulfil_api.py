"""The hold lifecycle over HTTP and the sweeper, on both engines: releasing and fulfilling,
the transitions a hold refuses (409, nothing changed), and the live holds a SKU lists."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.clock import ManualClock
from tests.support.api_client import HandlerClient
from tests.support.invariants import check_invariants
from tests.support.lifecycle_requests import level, lines, reserve, stock


class TestRelease:
    def test_partial_release_then_the_rest_cancels(
        self, api: HandlerClient, engine_client: Any, engine_table: str
    ) -> None:
        stock(api, "A", 5)
        stock(api, "B", 5)
        reserve(api, "r1", ("A", 3), ("B", 2))
        part = api.post(
            "/reservations/r1/release", {"items": [{"sku": "A", "location": "WH1", "quantity": 2}]}
        )
        assert part.status == 200, part.text
        assert part.json["status"] == "ACTIVE"
        assert lines(part.json) == [("A", 1, 2, 0), ("B", 2, 0, 0)]
        assert level(api, "A") == (5, 1, 4)
        rest = api.post(
            "/reservations/r1/release",
            {
                "items": [
                    {"sku": "A", "location": "WH1", "quantity": 1},
                    {"sku": "B", "location": "WH1", "quantity": 2},
                ]
            },
        )
        assert rest.json["status"] == "CANCELLED"
        assert level(api, "B") == (5, 0, 5)
        check_invariants(engine_client, engine_table)

    @pytest.mark.parametrize(
        ("items", "field"),
        [
            ([{"sku": "A", "location": "WH1", "quantity": 4}], "body.items[0].quantity"),
            ([{"sku": "Z", "location": "WH1", "quantity": 1}], "body.items[0]"),
            ([{"sku": "A", "location": "WH1", "quantity": 0}], "body.items[0].quantity"),
            ([], "body.items"),
            (
                [
                    {"sku": "A", "location": "WH1", "quantity": 1},
                    {"sku": "A", "location": "WH1", "quantity": 1},
                ],
                "body.items",
            ),
        ],
    )
    def test_bad_release_changes_nothing(
        self, api: HandlerClient, items: list[Any], field: str
    ) -> None:
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 3))
        response = api.post("/reservations/r1/release", {"items": items})
        assert response.status == 400, response.text
        assert field in [d["field"] for d in response.json["details"]]
        assert level(api, "A") == (5, 3, 2)
        assert lines(api.get("/reservations/r1").json) == [("A", 3, 0, 0)]


class TestFulfill:
    def test_fulfil_everything_consumes_stock(
        self, api: HandlerClient, engine_client: Any, engine_table: str
    ) -> None:
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 3))
        api.post("/reservations/r1/confirm")
        response = api.post("/reservations/r1/fulfill", body="")
        assert response.status == 200, response.text
        assert response.json["status"] == "FULFILLED"
        assert lines(response.json) == [("A", 0, 0, 3)]
        assert level(api, "A") == (2, 0, 2)
        check_invariants(engine_client, engine_table)

    def test_partial_fulfil_then_release_ends_fulfilled(self, api: HandlerClient) -> None:
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 3))
        part = api.post(
            "/reservations/r1/fulfill", {"items": [{"sku": "A", "location": "WH1", "quantity": 1}]}
        )
        assert part.json["status"] == "ACTIVE"
        assert level(api, "A") == (4, 2, 2)
        rest = api.post(
            "/reservations/r1/release", {"items": [{"sku": "A", "location": "WH1", "quantity": 2}]}
        )
        assert rest.json["status"] == "FULFILLED"
        assert level(api, "A") == (4, 0, 4)

    @pytest.mark.parametrize("end", ["cancel", "release", "expire"])
    def test_a_hold_that_shipped_anything_ends_fulfilled_however_it_ends(
        self, api: HandlerClient, clock: ManualClock, sweeper: Any, end: str
    ) -> None:
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 3), expiresInSeconds=60)
        one = {"items": [{"sku": "A", "location": "WH1", "quantity": 1}]}
        assert api.post("/reservations/r1/fulfill", one).status == 200
        if end == "cancel":
            ended = api.delete("/reservations/r1")
        elif end == "release":
            ended = api.post(
                "/reservations/r1/release",
                {"items": [{"sku": "A", "location": "WH1", "quantity": 2}]},
            )
        else:
            clock.advance(61)
            assert api.get("/reservations/r1").json["status"] == "FULFILLED"  # before a sweep
            sweeper()
            ended = api.get("/reservations/r1")
        assert ended.status == 200, ended.text
        assert ended.json["status"] == "FULFILLED"
        assert lines(ended.json) == [("A", 0, 2, 1)]
        assert level(api, "A") == (4, 0, 4)

    def test_a_hold_that_shipped_nothing_ends_cancelled_or_expired(
        self, api: HandlerClient, clock: ManualClock, sweeper: Any
    ) -> None:
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 1))
        reserve(api, "r2", ("A", 1), expiresInSeconds=60)
        assert api.delete("/reservations/r1").json["status"] == "CANCELLED"
        clock.advance(61)
        sweeper()
        assert api.get("/reservations/r2").json["status"] == "EXPIRED"

    def test_fulfil_of_no_items_is_refused_like_release(self, api: HandlerClient) -> None:
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 3))
        for action in ("fulfill", "release"):
            response = api.post(f"/reservations/r1/{action}", {"items": []})
            assert response.status == 400, (action, response.text)
            assert response.json["details"][0]["field"] == "body.items"
        assert level(api, "A") == (5, 3, 2)

    def test_fulfil_more_than_held_is_refused(self, api: HandlerClient) -> None:
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 3))
        response = api.post(
            "/reservations/r1/fulfill", {"items": [{"sku": "A", "location": "WH1", "quantity": 9}]}
        )
        assert response.status == 400
        assert level(api, "A") == (5, 3, 2)


class TestImpossibleTransitions:
    @pytest.mark.parametrize(
        ("setup", "action", "status"),
        [
            ("cancel", ("confirm", None), "CANCELLED"),
            ("cancel", ("extend", {"expiresInSeconds": 60}), "CANCELLED"),
            (
                "cancel",
                ("release", {"items": [{"sku": "A", "location": "WH1", "quantity": 1}]}),
                "CANCELLED",
            ),
            ("cancel", ("fulfill", None), "CANCELLED"),
            ("fulfill", ("confirm", None), "FULFILLED"),
            ("fulfill", ("cancel", None), "FULFILLED"),
            ("expire", ("extend", {"expiresInSeconds": 60}), "EXPIRED"),
            ("expire", ("fulfill", None), "EXPIRED"),
            ("expire", ("cancel", None), "EXPIRED"),
            ("confirm", ("extend", {"expiresInSeconds": 60}), "CONFIRMED"),
        ],
    )
    def test_is_409_and_changes_nothing(
        self,
        api: HandlerClient,
        clock: ManualClock,
        setup: str,
        action: tuple[str, Any],
        status: str,
    ) -> None:
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 2), expiresInSeconds=60)
        if setup == "expire":
            clock.advance(61)
        elif setup == "cancel":
            api.delete("/reservations/r1")
        else:
            api.post(f"/reservations/r1/{setup}")
        before = (api.get("/reservations/r1").json, level(api, "A"))
        name, body = action
        response = (
            api.delete("/reservations/r1")
            if name == "cancel"
            else api.post(f"/reservations/r1/{name}", body)
        )
        assert response.status == 409, response.text
        assert response.json["error"] == "INVALID_STATE"
        assert response.json["status"] == status
        assert (api.get("/reservations/r1").json, level(api, "A")) == before

    @pytest.mark.parametrize("action", ["confirm", "extend", "release", "fulfill"])
    def test_unknown_reservation_is_404(self, api: HandlerClient, action: str) -> None:
        body = (
            {"expiresInSeconds": 5}
            if action == "extend"
            else {"items": [{"sku": "A", "location": "L", "quantity": 1}]}
        )
        assert (
            api.post(f"/reservations/nope/{action}", body if action != "confirm" else None).status
            == 404
        )

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"expiresInSeconds": 0},
            {"expiresInSeconds": "60"},
            {"expiresInSeconds": 10**9},
            {"expiresInSeconds": 5, "x": 1},
        ],
    )
    def test_bad_extend(self, api: HandlerClient, body: Any) -> None:
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 2))
        response = api.post("/reservations/r1/extend", body)
        assert response.status == 400, response.text
        assert response.json["details"][0]["field"].startswith("body")


class TestHoldsOnSku:
    def test_lists_live_holds_only(self, api: HandlerClient, clock: ManualClock) -> None:
        stock(api, "A", 10)
        stock(api, "A", 10, "WH2")
        reserve(api, "r1", ("A", 2), expiresInSeconds=600)
        api.post(
            "/reservations", {"id": "r2", "items": [{"sku": "A", "location": "WH2", "quantity": 3}]}
        )
        api.post("/reservations/r2/confirm")
        reserve(api, "r3", ("A", 1), expiresInSeconds=60)
        reserve(api, "r4", ("A", 1))
        api.delete("/reservations/r4")
        clock.advance(61)  # r3 is due, not yet swept
        response = api.get("/inventory/A/reservations")
        assert response.status == 200
        holds = {h["id"]: h for h in response.json["holds"]}
        assert set(holds) == {"r1", "r2"}
        assert holds["r1"] == {
            **holds["r1"],
            "status": "ACTIVE",
            "quantity": 2,
            "location": "WH1",
            "channel": "storefront",
        }
        assert holds["r2"]["status"] == "CONFIRMED"
        assert holds["r2"]["expiresAt"] is None

    def test_partial_release_shows_what_is_still_held(self, api: HandlerClient) -> None:
        stock(api, "A", 10)
        reserve(api, "r1", ("A", 5))
        api.post(
            "/reservations/r1/release", {"items": [{"sku": "A", "location": "WH1", "quantity": 2}]}
        )
        assert [h["quantity"] for h in api.get("/inventory/A/reservations").json["holds"]] == [3]
