"""Compare-and-set on stock writes: the version as ETag, If-Match on PUT, on both engines."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api_client import ApiResponse, HandlerClient

LEVEL = "/inventory/CAS/locations/WH1"


def put(api: HandlerClient, on_hand: int, if_match: str | None = None, **headers: str) -> Any:
    sent = dict(headers)
    if if_match is not None:
        sent["If-Match"] = if_match
    return api.put(LEVEL, {"onHand": on_hand}, headers=sent)


def etag(response: ApiResponse) -> str:
    return response.headers["ETag"]


def test_the_version_moves_with_on_hand_and_is_the_etag(api: HandlerClient) -> None:
    first = put(api, 5)
    assert first.status == 200
    assert (first.json["version"], etag(first)) == (1, '"1"')
    read = api.get(LEVEL)
    assert (read.status, etag(read), read.json["onHand"]) == (200, '"1"', 5)
    assert api.get("/inventory/CAS").json["locations"][0]["version"] == 1
    assert etag(put(api, 6)) == '"2"'


def test_holds_do_not_move_the_version(api: HandlerClient) -> None:
    put(api, 5)
    body = {"id": "h", "items": [{"sku": "CAS", "location": "WH1", "quantity": 2}]}
    assert api.post("/reservations", body).status == 201
    assert api.delete("/reservations/h").status == 200
    assert etag(api.get(LEVEL)) == '"1"'
    # A fulfilment takes goods out of onHand: that is a change of physical stock.
    assert api.post("/reservations", {**body, "id": "h2"}).status == 201
    assert api.post("/reservations/h2/fulfill").status == 200
    assert etag(api.get(LEVEL)) == '"2"'


def test_if_match_applies_only_at_that_version(api: HandlerClient) -> None:
    tag = etag(put(api, 5))
    assert put(api, 7, if_match=tag).status == 200
    stale = put(api, 9, if_match=tag)
    assert stale.status == 412, stale.text
    assert stale.json["error"] == "PRECONDITION_FAILED"
    assert (stale.json["current"]["onHand"], stale.json["current"]["version"]) == (7, 2)
    assert api.get(LEVEL).json["onHand"] == 7


@pytest.mark.parametrize(
    ("header", "status"),
    [('W/"1"', 412), ("1", 412), ('"1", "9"', 200), ('"9", "1"', 200), ("*", 200)],
    ids=["weak", "unquoted", "list-first", "list-last", "any"],
)
def test_if_match_forms(api: HandlerClient, header: str, status: int) -> None:
    put(api, 5)
    assert put(api, 6, if_match=header).status == status


def test_if_match_any_on_a_missing_record_is_412(api: HandlerClient) -> None:
    refused = put(api, 5, if_match="*")
    assert refused.status == 412
    assert refused.json.get("current") is None
    assert api.get(LEVEL).status == 404


def test_if_match_zero_creates_only_a_new_record(api: HandlerClient) -> None:
    assert put(api, 5, if_match='"0"').status == 200
    assert put(api, 6, if_match='"0"').status == 412


def test_if_match_with_an_idempotency_key(api: HandlerClient) -> None:
    tag = etag(put(api, 5))
    key = {"Idempotency-Key": "cas-1"}
    first = put(api, 8, if_match=tag, **key)
    again = put(api, 8, if_match=tag, **key)
    assert (first.status, again.status) == (200, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert etag(again) == etag(first) == '"2"'
    assert put(api, 9, if_match=tag, **{"Idempotency-Key": "cas-2"}).status == 412
