"""The hold lifecycle over HTTP, the sweeper and the stream backstop, on both engines."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

import stream_function
import sweeper_function
from local.apigw import LambdaContext
from reservations.clock import ManualClock
from reservations.service import ReservationService
from reservations.store.keys import line_key
from tests.support.api_client import HandlerClient
from tests.support.invariants import check_invariants


def stock(api: HandlerClient, sku: str, on_hand: int, location: str = "WH1") -> None:
    assert api.put(f"/inventory/{sku}/locations/{location}", {"onHand": on_hand}).status == 200


def reserve(api: HandlerClient, rid: str, *lines: tuple[str, int], **extra: Any) -> dict[str, Any]:
    body = {
        "id": rid,
        "items": [{"sku": s, "location": "WH1", "quantity": q} for s, q in lines],
        **extra,
    }
    response = api.post("/reservations", body)
    assert response.status == 201, response.text
    result: dict[str, Any] = response.json
    return result


def scheduled_event() -> dict[str, Any]:
    return {
        "version": "0",
        "id": "1",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "000000000000",
        "time": "2026-11-25T12:00:00Z",
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:000000000000:rule/sweep"],
        "detail": {},
    }


class Countdown(LambdaContext):
    """A Lambda context whose time left changes only when the test says so."""

    def __init__(self, timeout_seconds: float) -> None:
        super().__init__("sweeper", timeout_seconds)
        self.remaining_ms = int(timeout_seconds * 1000)

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def level(api: HandlerClient, sku: str) -> tuple[int, int, int]:
    body = api.get(f"/inventory/{sku}").json
    return body["onHand"], body["reserved"], body["available"]


def lines(body: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    return [(i["sku"], i["held"], i["released"], i["consumed"]) for i in body["items"]]


@pytest.fixture
def sweeper(service: ReservationService, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setattr(sweeper_function, "service", service)

    def sweep() -> dict[str, Any]:
        result: dict[str, Any] = sweeper_function.lambda_handler(
            scheduled_event(), LambdaContext("sweeper")
        )
        return result

    return sweep


class TestConfirm:
    def test_confirmed_hold_never_expires(
        self, api: HandlerClient, clock: ManualClock, sweeper: Any
    ) -> None:
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 2), expiresInSeconds=60)
        confirmed = api.post("/reservations/r1/confirm")
        assert confirmed.status == 200, confirmed.text
        assert confirmed.json["status"] == "CONFIRMED"
        assert confirmed.json["expiresAt"] is None
        clock.advance(3600)
        assert sweeper()["expired"] == 0
        assert api.get("/reservations/r1").json["status"] == "CONFIRMED"
        assert level(api, "A") == (5, 2, 3)
        # Confirming again changes nothing.
        assert api.post("/reservations/r1/confirm").status == 200

    def test_confirming_an_expired_hold_is_invalid(
        self, api: HandlerClient, clock: ManualClock
    ) -> None:
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 2), expiresInSeconds=60)
        clock.advance(61)
        response = api.post("/reservations/r1/confirm")
        assert response.status == 409
        assert response.json == {**response.json, "error": "INVALID_STATE", "status": "EXPIRED"}


class TestExpiry:
    def test_an_expired_hold_reads_expired_before_any_sweep(
        self, api: HandlerClient, clock: ManualClock
    ) -> None:
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 2), expiresInSeconds=60)
        clock.advance(60)
        assert api.get("/reservations/r1").json["status"] == "EXPIRED"

    def test_the_sweeper_gives_stock_back(
        self,
        api: HandlerClient,
        clock: ManualClock,
        sweeper: Any,
        engine_client: Any,
        engine_table: str,
    ) -> None:
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 2), expiresInSeconds=60)
        reserve(api, "r2", ("A", 1), expiresInSeconds=600)
        clock.advance(61)
        assert sweeper() == {"due": 1, "expired": 1, "skipped": 0}
        body = api.get("/reservations/r1").json
        assert body["status"] == "EXPIRED"
        assert lines(body) == [("A", 0, 2, 0)]
        assert level(api, "A") == (5, 1, 4)
        assert sweeper()["due"] == 0
        check_invariants(engine_client, engine_table)

    def test_a_deployed_sweeper_polls_until_near_its_timeout(
        self,
        api: HandlerClient,
        clock: ManualClock,
        service: ReservationService,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """As deployed (SWEEP_POLL_SECONDS=10, a one-minute timeout): a hold that falls due
        while the invocation runs is released by it, and it stops with the safety margin
        left. Time passes only when the handler sleeps."""
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 2), expiresInSeconds=60)
        reserve(api, "r2", ("A", 1), expiresInSeconds=75)
        clock.advance(61)  # r1 is due, r2 falls due 14 s into the invocation
        context = Countdown(timeout_seconds=60)
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            context.remaining_ms -= int(seconds * 1000)
            clock.advance(seconds)

        monkeypatch.setattr(sweeper_function, "service", service)
        monkeypatch.setattr(sweeper_function, "POLL_SECONDS", 10.0)
        # Only the sweeper's clock: botocore's retries keep the real one.
        monkeypatch.setattr(sweeper_function, "time", SimpleNamespace(sleep=sleep))

        result = sweeper_function.lambda_handler(scheduled_event(), context)

        assert result == {"due": 2, "expired": 2, "skipped": 0}
        # Sweeps at 0, 10, 20, 30 and 40 s; after that fewer than 15 s + one poll are left.
        assert slept == [10.0] * 4
        assert context.remaining_ms >= sweeper_function.SAFETY_MS
        assert level(api, "A") == (5, 0, 5)

    def test_an_expired_hold_never_blocks_a_sale(
        self, api: HandlerClient, clock: ManualClock
    ) -> None:
        stock(api, "A", 2)
        reserve(api, "old", ("A", 2), expiresInSeconds=60)
        clock.advance(61)  # no sweep has run
        fresh = api.post(
            "/reservations", {"items": [{"sku": "A", "location": "WH1", "quantity": 2}]}
        )
        assert fresh.status == 201, fresh.text
        assert api.get("/reservations/old").json["status"] == "EXPIRED"
        assert level(api, "A") == (2, 2, 0)

    def test_extend_moves_the_expiry(
        self, api: HandlerClient, clock: ManualClock, sweeper: Any
    ) -> None:
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 2), expiresInSeconds=60)
        clock.advance(50)
        extended = api.post("/reservations/r1/extend", {"expiresInSeconds": 300})
        assert extended.status == 200, extended.text
        clock.advance(100)
        assert sweeper()["due"] == 0
        assert api.get("/reservations/r1").json["status"] == "ACTIVE"
        clock.advance(201)
        assert sweeper()["expired"] == 1

    def test_the_stream_backstop_settles_a_ttl_deleted_line_once(
        self,
        api: HandlerClient,
        service: ReservationService,
        engine_client: Any,
        engine_table: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setattr(stream_function, "service", service)
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 3), expiresInSeconds=60)
        key = line_key("r1", "A", "WH1")
        old = engine_client.delete_item(TableName=engine_table, Key=key, ReturnValues="ALL_OLD")[
            "Attributes"
        ]
        record = {
            "eventID": "1",
            "eventName": "REMOVE",
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": "us-east-1",
            "dynamodb": {
                "ApproximateCreationDateTime": 1.8e9,
                "Keys": key,
                "OldImage": old,
                "SequenceNumber": "100",
                "SizeBytes": 200,
                "StreamViewType": "NEW_AND_OLD_IMAGES",
            },
            "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026",
        }
        event = {"Records": [record, {**record, "eventID": "2"}]}  # delivered twice
        for _ in range(2):
            assert stream_function.lambda_handler(event, LambdaContext("stream")) == {
                "batchItemFailures": []
            }
        assert level(api, "A") == (5, 0, 5)


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


class TestExpiresAt:
    """One rule: shown while the hold can expire, or once it did; null otherwise."""

    def test_shown_while_active_and_once_expired(
        self, api: HandlerClient, clock: ManualClock, sweeper: Any
    ) -> None:
        stock(api, "A", 5)
        placed = reserve(api, "r1", ("A", 1), expiresInSeconds=60)
        assert placed["expiresAt"] is not None
        clock.advance(61)
        due = api.get("/reservations/r1").json
        assert (due["status"], due["expiresAt"]) == ("EXPIRED", placed["expiresAt"])
        sweeper()
        assert api.get("/reservations/r1").json["expiresAt"] == placed["expiresAt"]

    @pytest.mark.parametrize("end", ["confirm", "fulfill", "cancel", "confirm+fulfill"])
    def test_null_once_the_hold_can_no_longer_expire(self, api: HandlerClient, end: str) -> None:
        stock(api, "A", 5)
        reserve(api, "r1", ("A", 1))
        for step in end.split("+"):
            if step == "cancel":
                response = api.delete("/reservations/r1")
            else:
                response = api.post(f"/reservations/r1/{step}")
            assert response.status == 200, response.text
            assert response.json["expiresAt"] is None, step
        assert api.get("/reservations/r1").json["expiresAt"] is None


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
