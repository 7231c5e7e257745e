"""Serialized labels through the real handler, on both engines (issue 16): releasing,
shipping, cancelling and expiring give back what is left on the labels, and a reserved
label keeps its stock until its hold lets go. The drift check, extended to labels, is clean
after every test."""

from __future__ import annotations

from typing import Any

import pytest

import stream_function
from local.apigw import LambdaContext
from local.aws_events import stream_event, ttl_remove_record
from reservations.clock import ManualClock
from reservations.service import ReservationService
from reservations.store.keys import line_key
from tests.support.api_client import HandlerClient
from tests.support.faults import TRANSACT, CrashAfterCommit
from tests.support.label_requests import (
    CALL_CENTRE,
    STOREFRONT,
    hold,
    label,
    level,
    no_drift,  # noqa: F401  (autouse: the drift check)
    put_label,
)

# --- giving labels back -----------------------------------------------------------------


def test_releasing_one_label_gives_it_back_whole(api: HandlerClient) -> None:
    put_label(api, "L-1", 2)
    put_label(api, "L-2", 3)
    assert hold(api, "r1", ["L-1", "L-2"]).status == 201
    owner = api.as_(STOREFRONT)
    released = owner.post("/reservations/r1/labels/L-1/release")
    assert released.status == 200, released.text
    assert (released.json["status"], released.json["items"][0]["held"]) == ("ACTIVE", 3)
    assert label(api, "L-1")["status"] == "ACTIVE" and level(api) == (5, 3, 2)
    again = owner.post("/reservations/r1/labels/L-1/release")
    assert (again.status, again.json["error"]) == (409, "LABEL_NOT_HELD")
    assert again.json["labels"] == [
        {"label": "L-1", "status": "ACTIVE", "sku": "SER", "location": "WH1"}
    ]
    other = api.as_(CALL_CENTRE).post("/reservations/r1/labels/L-2/release")
    assert other.status == 404  # another channel's hold is unknown
    last = owner.post("/reservations/r1/labels/L-2/release")
    assert last.json["status"] == "CANCELLED" and level(api) == (5, 0, 5)


def test_a_line_of_labels_is_released_whole_or_label_by_label(api: HandlerClient) -> None:
    put_label(api, "L-1", 2)
    assert hold(api, "r1", ["L-1"]).status == 201
    owner = api.as_(STOREFRONT)
    part = {"items": [{"sku": "SER", "location": "WH1", "quantity": 1}]}
    refused = owner.post("/reservations/r1/release", part)
    assert (refused.status, refused.json["details"][0]["field"]) == (
        400,
        "body.items[0].quantity",
    )
    whole = owner.post("/reservations/r1/release", {"items": [{**part["items"][0], "quantity": 2}]})
    assert whole.json["status"] == "CANCELLED" and label(api, "L-1")["status"] == "ACTIVE"


def test_shipping_takes_from_the_labels_and_gives_back_the_rest(api: HandlerClient) -> None:
    put_label(api, "L-1", 5)
    put_label(api, "L-2", 5)
    assert hold(api, "r1", ["L-1", "L-2"]).status == 201
    shipped = api.as_(STOREFRONT).post(
        "/reservations/r1/fulfill", {"items": [{"sku": "SER", "location": "WH1", "quantity": 7}]}
    )
    assert shipped.status == 200, shipped.text
    [item] = shipped.json["items"]
    assert (item["consumed"], item["released"], item["held"]) == (7, 3, 0)
    assert [(x["label"], x["shipped"]) for x in item["labels"]] == [("L-1", 5), ("L-2", 2)]
    assert shipped.json["status"] == "FULFILLED"
    assert (label(api, "L-1")["status"], label(api, "L-1")["quantity"]) == ("SHIPPED", 0)
    assert (label(api, "L-2")["status"], label(api, "L-2")["quantity"]) == ("ACTIVE", 3)
    assert level(api) == (3, 0, 3)


def test_a_label_ships_only_through_the_hold_that_reserved_it(api: HandlerClient) -> None:
    put_label(api, "L-1", 1)
    put_label(api, "L-2", 1)
    assert hold(api, "r1", ["L-1"]).status == 201
    assert hold(api, "r2", ["L-2"]).status == 201
    line = {"sku": "SER", "location": "WH1", "quantity": 1, "labels": ["L-2"]}
    refused = api.as_(STOREFRONT).post("/reservations/r1/fulfill", {"items": [line]})
    assert (refused.status, refused.json["error"]) == (409, "LABEL_RESERVED"), refused.text
    assert refused.json["labels"][0]["label"] == "L-2"
    mine = api.as_(STOREFRONT).post(
        "/reservations/r1/fulfill", {"items": [{**line, "labels": ["L-1"]}]}
    )
    assert mine.status == 200 and label(api, "L-1")["status"] == "SHIPPED"
    assert label(api, "L-2")["status"] == "RESERVED" and level(api) == (1, 1, 0)


def test_cancel_and_expiry_give_the_labels_back(
    api: HandlerClient, service: ReservationService, clock: ManualClock
) -> None:
    put_label(api, "L-1", 2)
    put_label(api, "L-2", 2)
    assert hold(api, "r1", ["L-1"]).status == 201
    assert (
        hold(
            api,
            "r2",
            ["L-2"],
        ).status
        == 201
    )
    assert api.as_(STOREFRONT).delete("/reservations/r1").json["status"] == "CANCELLED"
    assert label(api, "L-1")["status"] == "ACTIVE"
    clock.advance(24 * 3600)
    assert service.sweep().expired == ["r2"]
    assert label(api, "L-2")["status"] == "ACTIVE" and level(api) == (4, 0, 4)


def test_a_reserved_label_keeps_its_stock_until_its_hold_lets_go(api: HandlerClient) -> None:
    put_label(api, "L-1", 2)
    assert hold(api, "r1", ["L-1"]).status == 201
    moved = api.put("/labels/L-1", {"sku": "SER", "location": "WH2", "quantity": 2})
    assert (moved.status, moved.json["error"]) == (409, "LABEL_RESERVED")
    rebinned = api.put("/labels/L-1", {"sku": "SER", "location": "WH1", "quantity": 2, "bin": "B"})
    assert rebinned.status == 200 and rebinned.json["status"] == "RESERVED"
    assert level(api) == (2, 2, 0)


def test_a_label_write_with_an_idempotency_key_answers_its_replay_alike(
    api: HandlerClient,
) -> None:
    body = {"sku": "SER", "location": "WH1", "quantity": 4}
    key = {"Idempotency-Key": "label-write-1"}
    first = api.put("/labels/L-1", body, headers=key)
    again = api.put("/labels/L-1", body, headers=key)
    assert (first.status, again.status) == (201, 201)
    assert first.json == again.json and level(api) == (4, 0, 4)
    changed = api.put("/labels/L-1", {**body, "quantity": 5}, headers=key)
    assert (changed.status, changed.json["error"]) == (422, "IDEMPOTENCY_KEY_REUSED")


def test_the_stream_backstop_frees_the_labels_of_a_ttl_deleted_line(
    api: HandlerClient,
    service: ReservationService,
    engine_client: Any,
    engine_table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(stream_function, "service", service)
    put_label(api, "L-1", 2)
    put_label(api, "L-2", 1)
    assert hold(api, "r1", ["L-1", "L-2"]).status == 201
    key = line_key("r1", "SER", "WH1")
    old = engine_client.delete_item(TableName=engine_table, Key=key, ReturnValues="ALL_OLD")
    record = ttl_remove_record(key, old["Attributes"], "100", engine_table)
    event = stream_event([record, record])  # delivered twice
    for _ in range(2):
        answer = stream_function.lambda_handler(event, LambdaContext("stream"))
        assert answer == {"batchItemFailures": []}
    assert level(api) == (3, 0, 3)
    assert [label(api, x)["status"] for x in ("L-1", "L-2")] == ["ACTIVE", "ACTIVE"]
    # TTL deletes the header too in AWS; here it is removed by hand, as the drift check
    # would otherwise see a live header whose line is gone.
    header = {"PK": key["PK"], "SK": {"S": "RES"}}
    engine_client.delete_item(TableName=engine_table, Key=header)


def test_a_hold_of_counted_and_labelled_lines_names_its_order_on_its_labels(
    api: HandlerClient,
) -> None:
    assert api.put("/inventory/CNT/locations/WH1", {"onHand": 5}).status == 200
    put_label(api, "L-1", 2)
    put_label(api, "L-2", 1, location="WH2")
    items = [
        {"sku": "CNT", "location": "WH1", "quantity": 2},
        {"sku": "SER", "location": "WH1", "labels": ["L-1"]},
    ]
    created = api.as_(STOREFRONT).post(
        "/reservations", {"id": "r1", "orderId": "o-1", "items": items}
    )
    assert created.status == 201, created.text
    assert [(x["sku"], x["held"]) for x in created.json["items"]] == [("CNT", 2), ("SER", 2)]
    mine = label(api, "L-1")
    assert (mine["reservationId"], mine["orderId"]) == ("r1", "o-1")
    assert level(api, "CNT") == (5, 2, 3) and level(api) == (2, 2, 0)
    elsewhere = hold(api, "r2", ["L-2"])  # L-2 is at WH2, the line at WH1
    assert elsewhere.json["labels"] == [
        {"label": "L-2", "status": "ACTIVE", "sku": "SER", "location": "WH2"}
    ]
    assert api.as_(STOREFRONT).post("/reservations/r1/labels/L-1/release").status == 200
    freed = label(api, "L-1")
    assert freed["status"] == "ACTIVE" and "reservationId" not in freed and "orderId" not in freed


def test_a_label_release_with_a_key_applies_once_even_after_a_crash(
    api: HandlerClient, engine_client: Any
) -> None:
    put_label(api, "L-1", 1)
    put_label(api, "L-2", 2)
    assert hold(api, "r1", ["L-1", "L-2"]).status == 201
    owner = api.as_(STOREFRONT)
    keyed = {"Idempotency-Key": "release-L-1"}
    first = owner.post("/reservations/r1/labels/L-1/release", headers=keyed)
    again = owner.post("/reservations/r1/labels/L-1/release", headers=keyed)
    assert (first.status, again.status, again.text) == (200, 200, first.text)
    assert again.headers.get("Idempotent-Replayed") == "true"
    fault = CrashAfterCommit()
    engine_client.meta.events.register(f"after-call.{TRANSACT}", fault)
    try:
        with pytest.raises(RuntimeError):
            owner.post("/reservations/r1/labels/L-2/release", headers={"Idempotency-Key": "c"})
    finally:
        engine_client.meta.events.unregister(f"after-call.{TRANSACT}", fault)
    retried = owner.post("/reservations/r1/labels/L-2/release", headers={"Idempotency-Key": "c"})
    assert retried.status == 200 and retried.headers.get("Idempotent-Replayed") == "true"
    assert retried.json["status"] == "CANCELLED" and level(api) == (3, 0, 3)
