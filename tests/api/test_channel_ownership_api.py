"""Channels and scopes through the real handler, as API Gateway calls it after its authorizer.

A channel acts only on its own holds: another channel's hold answers exactly what an unknown
one answers, on every route. ``reservations/admin`` acts on any hold. Log lines carry the
request id and the channel, never the token or the body.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

import api_function
from tests.support.api_client import ADMIN, ApiResponse, HandlerClient, Identity
from tests.support.channel_holds import CALL_CENTRE, HOLD, LINE, STOREFRONT, level

# Every route that acts on one hold: (method, path, body).
HOLD_ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/reservations/{id}", None),
    ("POST", "/reservations/{id}/confirm", None),
    ("POST", "/reservations/{id}/extend", {"expiresInSeconds": 600}),
    ("POST", "/reservations/{id}/release", {"items": [LINE]}),
    ("POST", "/reservations/{id}/fulfill", {"items": [LINE]}),
    ("DELETE", "/reservations/{id}", None),
]
ROUTE_IDS = [f"{method} {path}" for method, path, _ in HOLD_ROUTES]
# hold-1's status and the stock level once each of HOLD_ROUTES acted on it (2 of 10 held).
HOLD_EFFECTS: dict[tuple[str, str], tuple[str, tuple[int, int, int]]] = {
    ("GET", "/reservations/{id}"): ("ACTIVE", (10, 2, 8)),
    ("POST", "/reservations/{id}/confirm"): ("CONFIRMED", (10, 2, 8)),
    ("POST", "/reservations/{id}/extend"): ("ACTIVE", (10, 2, 8)),
    ("POST", "/reservations/{id}/release"): ("ACTIVE", (10, 1, 9)),
    ("POST", "/reservations/{id}/fulfill"): ("ACTIVE", (9, 1, 8)),
    ("DELETE", "/reservations/{id}"): ("CANCELLED", (10, 0, 10)),
}


def call(api: HandlerClient, method: str, path: str, body: Any, rid: str) -> ApiResponse:
    return api.request(method, path.format(id=rid), body)


# --- ownership --------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "body"), HOLD_ROUTES, ids=ROUTE_IDS)
def test_another_channels_hold_answers_like_an_unknown_one(
    api: HandlerClient, held: dict[str, Any], method: str, path: str, body: Any
) -> None:
    other = api.as_(CALL_CENTRE)
    foreign = call(other, method, path, body, "hold-1")
    missing = call(other, method, path, body, "hold-nope")
    assert foreign.status == 404, foreign.text
    # Same code and the same message, but for the id the caller itself sent.
    assert foreign.json == {
        **missing.json,
        "message": missing.json["message"].replace("hold-nope", "hold-1"),
    }
    # Nothing changed: the storefront still sees its hold as it was, stock still held.
    assert api.as_(STOREFRONT).get("/reservations/hold-1").json == held
    assert level(api) == (10, 2, 8)


@pytest.mark.parametrize(("method", "path", "body"), HOLD_ROUTES, ids=ROUTE_IDS)
def test_the_owning_channel_acts_on_its_hold(
    api: HandlerClient, held: dict[str, Any], method: str, path: str, body: Any
) -> None:
    response = call(api.as_(STOREFRONT), method, path, body, "hold-1")
    assert response.status == 200, response.text
    assert response.json["channel"] == "storefront"
    status, stock = HOLD_EFFECTS[method, path]
    assert (response.json["status"], level(api)) == (status, stock)


@pytest.mark.parametrize(("method", "path", "body"), HOLD_ROUTES, ids=ROUTE_IDS)
def test_an_admin_acts_on_any_hold(
    api: HandlerClient, held: dict[str, Any], method: str, path: str, body: Any
) -> None:
    response = call(api.as_(ADMIN), method, path, body, "hold-1")
    assert response.status == 200, response.text
    # The hold stays the storefront's: the admin acted on it, it did not take it over.
    assert response.json["channel"] == "storefront"
    status, stock = HOLD_EFFECTS[method, path]
    assert api.as_(STOREFRONT).get("/reservations/hold-1").json["status"] == status
    assert level(api) == stock


def test_holds_on_a_sku_list_only_the_callers_own(api: HandlerClient, held: Any) -> None:
    theirs = {**HOLD, "id": "hold-2", "items": [{**HOLD["items"][0], "quantity": 3}]}
    assert api.as_(CALL_CENTRE).post("/reservations", theirs).status == 201

    def listed(identity: Identity) -> list[tuple[str, str]]:
        response = api.as_(identity).get("/inventory/SKU-A/reservations")
        assert response.status == 200, response.text
        return sorted((hold["id"], hold["channel"]) for hold in response.json["holds"])

    assert listed(STOREFRONT) == [("hold-1", "storefront")]
    assert listed(CALL_CENTRE) == [("hold-2", "callcentre")]
    assert listed(Identity("marketplace")) == []
    assert listed(ADMIN) == [("hold-1", "storefront"), ("hold-2", "callcentre")]
    # Stock itself is shared: every channel sees the same availability.
    assert level(api) == (10, 5, 5)


def test_the_channel_is_the_tokens_client_whatever_the_body_says(api: HandlerClient) -> None:
    assert api.put("/inventory/SKU-A/locations/WH1", {"onHand": 10}).status == 200
    forged = api.as_(STOREFRONT).post("/reservations", {**HOLD, "channel": "callcentre"})
    assert forged.status == 400  # an unknown field, not a way to pick a channel
    assert forged.json["details"] == [{"field": "body.channel", "reason": "unknown field"}]
    created = api.as_(CALL_CENTRE).post("/reservations", HOLD)
    assert created.json["channel"] == "callcentre"


def test_reusing_another_channels_id_holds_nothing(api: HandlerClient, held: Any) -> None:
    """Ids are one namespace: the same id from another channel is a conflict, never a
    replay that would hand over the first channel's hold."""
    again = api.as_(CALL_CENTRE).post("/reservations", HOLD)
    assert again.status == 409
    assert again.json["error"] == "IDEMPOTENCY_CONFLICT"
    assert "items" not in again.json and "channel" not in again.json
    assert level(api) == (10, 2, 8)


# --- logs -------------------------------------------------------------------------------


def test_log_lines_carry_request_id_and_channel_never_token_or_body(
    api: HandlerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(api_function.logger.registered_handler, "stream", out)
    api_function.logger.setLevel("INFO")
    try:
        response = api.put(
            "/inventory/SKU-SECRET/locations/WH1",
            {"onHand": 987654},
            headers={"Authorization": "Bearer not-a-real-token-but-secret"},
        )
        assert response.status == 200
        refused = api.as_(None).post("/reservations", {"id": "x", "items": []})
        assert refused.status == 401
    finally:
        api_function.logger.setLevel("WARNING")
    lines = [json.loads(line) for line in out.getvalue().splitlines() if line.strip()]
    assert len(lines) >= 2
    for line in lines:
        assert line.get("correlation_id"), line
        assert line.get("channel"), line
        text = json.dumps(line)
        assert "not-a-real-token" not in text
        assert "987654" not in text
    assert [line["channel"] for line in lines][-2:] == ["storefront", "-"]
    assert [line["status"] for line in lines][-2:] == [200, 401]
