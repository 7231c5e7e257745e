"""The hold lifecycle over HTTP, the sweeper and the stream backstop, on both engines:
confirming, expiring (read as expired before a sweep, swept, extended, settled once by the
stream backstop) and when ``expiresAt`` is shown."""

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
from tests.support.lifecycle_requests import (
    Countdown,
    level,
    lines,
    reserve,
    scheduled_event,
    stock,
)


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
