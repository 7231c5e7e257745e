"""Idempotency-Key on every mutation (IETF httpapi draft), on both engines: a repeat is a
replay that changes nothing, whatever was lost on the way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import idempotency_keys
from local.apigw import proxy_event
from reservations.clock import ManualClock
from reservations.service import ReservationService
from tests.support.api_client import DEFAULT_IDENTITY, ApiResponse, HandlerClient, Identity
from tests.support.faults import TRANSACT, CrashAfterCommit

LINE = {"sku": "IDEM", "location": "WH1", "quantity": 2}
OTHER_CHANNEL = Identity("marketplace")


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


def level(api: HandlerClient, sku: str = "IDEM") -> tuple[int, int, int]:
    body = api.get(f"/inventory/{sku}").json
    return body["onHand"], body["reserved"], body["available"]


@pytest.fixture
def stocked(api: HandlerClient) -> HandlerClient:
    assert api.put("/inventory/IDEM/locations/WH1", {"onHand": 10}).status == 200
    return api


def hold(api: HandlerClient, rid: str = "h1", quantity: int = 4) -> None:
    body = {"id": rid, "items": [{**LINE, "quantity": quantity}]}
    assert api.post("/reservations", body).status == 201


def assert_replayed(first: ApiResponse, again: ApiResponse) -> None:
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert (again.status, again.text) == (first.status, first.text)


# Each mutation: how to send it, and the state that shows it applied once.
Send = Callable[[HandlerClient, dict[str, str]], ApiResponse]
MUTATIONS: dict[str, tuple[Send, tuple[int, int, int]]] = {
    "reserve": (
        lambda api, h: api.post("/reservations", {"items": [LINE]}, headers=h),
        (10, 6, 4),
    ),
    "release": (
        lambda api, h: api.post("/reservations/h1/release", {"items": [LINE]}, headers=h),
        (10, 2, 8),
    ),
    "fulfill": (
        lambda api, h: api.post("/reservations/h1/fulfill", {"items": [LINE]}, headers=h),
        (8, 2, 6),
    ),
    "cancel": (lambda api, h: api.delete("/reservations/h1", headers=h), (10, 0, 10)),
    "confirm": (lambda api, h: api.post("/reservations/h1/confirm", headers=h), (10, 4, 6)),
    "extend": (
        lambda api, h: api.post("/reservations/h1/extend", {"expiresInSeconds": 60}, headers=h),
        (10, 4, 6),
    ),
    "set-on-hand": (
        lambda api, h: api.put("/inventory/IDEM/locations/WH1", {"onHand": 7}, headers=h),
        (7, 4, 3),
    ),
    "change-items": (
        lambda api, h: api.put("/reservations/h1/items", {"items": [LINE]}, headers=h),
        (10, 2, 8),
    ),
    # Stock is not what it changes: the replay's equal answer and no second write show it.
    "register-location": (
        lambda api, h: api.put(
            "/locations/WH1", {"country": "GB", "priority": 1, "active": True}, headers=h
        ),
        (10, 4, 6),
    ),
}


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_repeat_replays_the_first_answer_and_changes_nothing(
    stocked: HandlerClient, name: str
) -> None:
    api = stocked
    hold(api)
    send, after = MUTATIONS[name]
    first = send(api, key(f"k-{name}"))
    assert first.status in (200, 201), first.text
    assert level(api) == after
    again = send(api, key(f"k-{name}"))
    assert_replayed(first, again)
    assert level(api) == after


def test_release_twice_with_one_key_releases_once(stocked: HandlerClient) -> None:
    """The report: the same release sent twice (a retry after a timeout) released 4 units."""
    api = stocked
    hold(api, quantity=4)
    body = {"items": [{**LINE, "quantity": 2}]}
    for _ in range(2):
        response = api.post("/reservations/h1/release", body, headers=key("retry-1"))
        assert response.status == 200
        assert response.json["items"][0]["released"] == 2
    assert level(api) == (10, 2, 8)


def test_without_a_key_a_repeat_applies_again(stocked: HandlerClient) -> None:
    """Unchanged behaviour without the header (documented as unsafe to repeat)."""
    api = stocked
    hold(api, quantity=4)
    body = {"items": [{**LINE, "quantity": 1}]}
    for _ in range(2):
        assert api.post("/reservations/h1/release", body).status == 200
    assert level(api) == (10, 2, 8)


def test_a_created_reservation_replays_its_201_and_location(stocked: HandlerClient) -> None:
    api = stocked
    body = {"items": [LINE]}
    first = api.post("/reservations", body, headers=key("create-1"))
    assert first.status == 201
    again = api.post("/reservations", body, headers=key("create-1"))
    assert_replayed(first, again)
    assert again.headers["Location"] == first.headers["Location"]
    assert api.get("/inventory/IDEM/reservations").json["holds"][0]["quantity"] == 2
    assert len(api.get("/inventory/IDEM/reservations").json["holds"]) == 1


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/reservations", {"items": [{**LINE, "quantity": 3}]}),
        ("PUT", "/inventory/IDEM/locations/WH1", {"onHand": 1}),
    ],
    ids=["other-body", "other-path"],
)
def test_the_same_key_for_another_request_is_422(
    stocked: HandlerClient, method: str, path: str, body: dict[str, Any]
) -> None:
    api = stocked
    assert api.post("/reservations", {"items": [LINE]}, headers=key("k")).status == 201
    refused = api.request(method, path, body, headers=key("k"))
    assert refused.status == 422, refused.text
    assert refused.json["error"] == "IDEMPOTENCY_KEY_REUSED"
    assert level(api) == (10, 2, 8)


def test_a_json_body_sent_in_another_layout_is_the_same_request(stocked: HandlerClient) -> None:
    api = stocked
    compact = '{"items":[{"sku":"IDEM","location":"WH1","quantity":2}]}'
    spaced = '{ "items": [ { "quantity": 2, "location": "WH1", "sku": "IDEM" } ] }'
    first = api.post("/reservations", body=compact, headers=key("layout"))
    again = api.post("/reservations", body=spaced, headers=key("layout"))
    assert_replayed(first, again)


def test_keys_are_scoped_per_channel(stocked: HandlerClient) -> None:
    api = stocked
    body = {"items": [LINE]}
    mine = api.post("/reservations", body, headers=key("shared"))
    theirs = api.as_(OTHER_CHANNEL).post("/reservations", body, headers=key("shared"))
    assert (mine.status, theirs.status) == (201, 201)
    assert mine.json["id"] != theirs.json["id"]
    assert level(api) == (10, 4, 6)


def test_a_request_that_took_no_effect_does_not_use_up_its_key(stocked: HandlerClient) -> None:
    api = stocked
    body = {"items": [{**LINE, "quantity": 12}]}
    refused = api.post("/reservations", body, headers=key("later"))
    assert refused.status == 409
    assert api.put("/inventory/IDEM/locations/WH1", {"onHand": 20}).status == 200
    granted = api.post("/reservations", body, headers=key("later"))
    assert granted.status == 201
    assert "Idempotent-Replayed" not in granted.headers


def test_a_repeat_while_the_first_is_in_flight_is_409_with_retry_after(
    stocked: HandlerClient, service: ReservationService, clock: ManualClock
) -> None:
    api = stocked
    body = '{"items":[{"sku":"IDEM","location":"WH1","quantity":2}]}'
    event = proxy_event("POST", "/reservations", {}, body)
    fingerprint = idempotency_keys.fingerprint(DEFAULT_IDENTITY.channel, event)
    service.idempotency_keys.claim(DEFAULT_IDENTITY.channel, "busy", fingerprint, service.now())
    in_flight = api.post("/reservations", body=body, headers=key("busy"))
    assert in_flight.status == 409
    assert in_flight.json["error"] == "IDEMPOTENCY_KEY_IN_USE"
    assert 1 <= int(in_flight.headers["Retry-After"]) <= 60
    assert level(api) == (10, 0, 10)
    # The first request died: once its lease has run out, a repeat takes the key over.
    clock.advance(61)
    assert api.post("/reservations", body=body, headers=key("busy")).status == 201


@pytest.mark.parametrize(
    "value",
    ["", '""', "x" * 256, "caf\u00e9", "tab\there"],
    ids=["empty", "empty-quoted", "too-long", "not-ascii", "control"],
)
def test_a_malformed_key_is_a_400_that_changes_nothing(stocked: HandlerClient, value: str) -> None:
    api = stocked
    response = api.post("/reservations", {"items": [LINE]}, headers=key(value))
    assert response.status == 400, response.text
    assert response.json["details"][0]["field"] == "header.idempotency-key"
    assert level(api) == (10, 0, 10)


def test_a_quoted_key_is_the_same_key_as_bare(stocked: HandlerClient) -> None:
    """The draft sends a Structured Field string; many clients send it bare."""
    api = stocked
    first = api.post("/reservations", {"items": [LINE]}, headers=key('"abc-1"'))
    again = api.post("/reservations", {"items": [LINE]}, headers=key("abc-1"))
    assert_replayed(first, again)


def test_reads_ignore_the_header(stocked: HandlerClient) -> None:
    api = stocked
    for _ in range(2):
        response = api.get("/inventory/IDEM", headers=key("read"))
        assert response.status == 200
        assert "Idempotent-Replayed" not in response.headers


# --- faults: the answer lost after the effect committed ---------------------------------------


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_a_retry_after_a_crash_past_the_commit_applies_once(
    stocked: HandlerClient, engine_client: Any, name: str
) -> None:
    api = stocked
    hold(api)
    send, after = MUTATIONS[name]
    fault = CrashAfterCommit()
    engine_client.meta.events.register(f"after-call.{TRANSACT}", fault)
    try:
        with pytest.raises(RuntimeError):
            send(api, key(f"crash-{name}"))
    finally:
        engine_client.meta.events.unregister(f"after-call.{TRANSACT}", fault)
    assert not fault.armed, "the mutation never reached its transaction"
    assert level(api) == after  # it committed
    retried = send(api, key(f"crash-{name}"))
    assert retried.status in (200, 201), retried.text
    assert retried.headers.get("Idempotent-Replayed") == "true"
    assert level(api) == after  # and applied once
