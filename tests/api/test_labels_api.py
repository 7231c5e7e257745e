"""Serialized labels through the real handler, on both engines (issue 16): labels are the
stock of their (sku, location), a reserve holds them whole, and releasing, shipping,
cancelling and expiring give back what is left on them. The drift check, extended to
labels, is clean after every test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import stream_function
from local.apigw import LambdaContext
from local.aws_events import stream_event, ttl_remove_record
from reservations.clock import ManualClock
from reservations.service import ReservationService
from reservations.store.keys import line_key
from tests.support.api_client import ADMIN, HandlerClient, Identity
from tests.support.faults import TRANSACT, CrashAfterCommit
from tests.support.invariants import check_invariants

STOREFRONT = Identity("storefront")
CALL_CENTRE = Identity("callcentre")


@pytest.fixture(autouse=True)
def no_drift(engine_client: Any, engine_table: str) -> Iterator[None]:
    yield
    check_invariants(engine_client, engine_table)


def put_label(api: HandlerClient, name: str, quantity: int, **where: str) -> dict[str, Any]:
    body = {"sku": where.get("sku", "SER"), "location": where.get("location", "WH1")}
    response = api.put(f"/labels/{name}", {**body, "quantity": quantity})
    assert response.status in (200, 201), response.text
    found: dict[str, Any] = response.json
    return found


def level(api: HandlerClient, sku: str = "SER", location: str = "WH1") -> tuple[int, int, int]:
    body = api.get(f"/inventory/{sku}/locations/{location}").json
    return body["onHand"], body["reserved"], body["available"]


def hold(api: HandlerClient, rid: str, labels: list[str], **extra: Any) -> Any:
    line = {"sku": "SER", "location": "WH1", "labels": labels, **extra}
    return api.as_(STOREFRONT).post("/reservations", {"id": rid, "items": [line]})


def label(api: HandlerClient, name: str, who: Identity = STOREFRONT) -> dict[str, Any]:
    response = api.as_(who).get(f"/labels/{name}")
    assert response.status == 200, response.text
    found: dict[str, Any] = response.json
    return found


# --- labels are stock -------------------------------------------------------------------


def test_labels_make_up_their_stock_record(api: HandlerClient) -> None:
    created = api.put("/labels/L-1", {"sku": "SER", "location": "WH1", "quantity": 5, "bin": "A1"})
    assert created.status == 201, created.text
    assert created.json["status"] == "ACTIVE" and created.json["bin"] == "A1"
    put_label(api, "L-2", 3)
    assert level(api) == (8, 0, 8)
    moved = api.put("/labels/L-2", {"sku": "SER", "location": "WH2", "quantity": 4})
    assert moved.status == 200, moved.text
    assert (level(api), level(api, location="WH2")) == ((5, 0, 5), (4, 0, 4))
    same = api.put("/labels/L-2", {"sku": "SER", "location": "WH2", "quantity": 4})
    assert (same.status, same.json["updatedAt"]) == (200, moved.json["updatedAt"])


def test_a_location_is_counted_or_labelled_not_both(api: HandlerClient) -> None:
    assert api.put("/inventory/CNT/locations/WH1", {"onHand": 4}).status == 200
    refused = api.put("/labels/L-1", {"sku": "CNT", "location": "WH1", "quantity": 1})
    assert (refused.status, refused.json["error"]) == (409, "STOCK_COUNTED")
    put_label(api, "L-2", 2)
    counted = api.put("/inventory/SER/locations/WH1", {"onHand": 9})
    assert (counted.status, counted.json["error"]) == (409, "STOCK_SERIALIZED")
    assert level(api) == (2, 0, 2) and level(api, "CNT") == (4, 0, 4)
    # A counted record that holds nothing may turn to labels.
    assert api.put("/inventory/EMPTY/locations/WH1", {"onHand": 0}).status == 200
    put_label(api, "L-3", 1, sku="EMPTY")
    assert level(api, "EMPTY") == (1, 0, 1)


def test_a_skus_labels_page_by_location_and_status(api: HandlerClient) -> None:
    for name, location in (("A-1", "WH1"), ("A-2", "WH1"), ("A-3", "WH2"), ("A-4", "WH10")):
        put_label(api, name, 1, location=location)
    assert hold(api, "r1", ["A-2"]).status == 201
    listed = api.get("/skus/SER/labels").json
    assert [x["label"] for x in listed["labels"]] == ["A-1", "A-2", "A-4", "A-3"]
    assert "reservationId" not in listed["labels"][1]  # a listing shows stock, not holders
    at_wh1 = api.get("/skus/SER/labels", query={"location": "WH1"}).json["labels"]
    assert [x["label"] for x in at_wh1] == ["A-1", "A-2"]  # never WH10's
    active = api.get("/skus/SER/labels", query={"location": "WH1", "status": "ACTIVE"}).json
    assert [x["label"] for x in active["labels"]] == ["A-1"]
    first = api.get("/skus/SER/labels", query={"limit": "3"}).json
    rest = api.get("/skus/SER/labels", query={"limit": "3", "nextToken": first["nextToken"]})
    assert [x["label"] for x in first["labels"] + rest.json["labels"]] == [
        "A-1", "A-2", "A-4", "A-3",
    ]  # fmt: skip
    forged = api.get("/skus/OTHER/labels", query={"limit": "3", "nextToken": first["nextToken"]})
    assert (forged.status, forged.json["error"]) == (400, "VALIDATION_ERROR")


# --- reserving labels -------------------------------------------------------------------


def test_a_reserve_holds_each_label_whole_at_its_true_quantity(api: HandlerClient) -> None:
    put_label(api, "L-1", 5)
    put_label(api, "L-2", 1)
    created = hold(api, "r1", ["L-1", "L-2"], quantity=2)
    assert created.status == 201, created.text
    [item] = created.json["items"]
    assert (item["quantity"], item["held"]) == (6, 6)  # the labels', whatever was asked
    assert [(x["label"], x["quantity"], x["held"]) for x in item["labels"]] == [
        ("L-1", 5, True),
        ("L-2", 1, True),
    ]
    assert level(api) == (6, 6, 0)
    mine = label(api, "L-1")
    assert (mine["status"], mine["reservationId"]) == ("RESERVED", "r1")
    theirs = label(api, "L-1", CALL_CENTRE)
    assert theirs["status"] == "RESERVED" and "reservationId" not in theirs
    assert label(api, "L-1", ADMIN)["reservationId"] == "r1"


def test_labels_not_active_here_refuse_the_whole_reserve(api: HandlerClient) -> None:
    put_label(api, "L-1", 1)
    put_label(api, "L-2", 1)
    put_label(api, "L-3", 1, sku="OTHER")
    assert api.put("/inventory/CNT/locations/WH1", {"onHand": 5}).status == 200
    assert hold(api, "r1", ["L-1"]).status == 201
    items = [
        {"sku": "CNT", "location": "WH1", "quantity": 2},
        {"sku": "SER", "location": "WH1", "labels": ["L-1", "L-2", "L-3", "L-404"]},
    ]
    refused = api.as_(CALL_CENTRE).post("/reservations", {"id": "r2", "items": items})
    assert (refused.status, refused.json["error"]) == (409, "LABEL_UNAVAILABLE"), refused.text
    assert refused.json["labels"] == [
        {"label": "L-1", "status": "RESERVED", "sku": "SER", "location": "WH1"},
        {"label": "L-3", "status": "ACTIVE", "sku": "OTHER", "location": "WH1"},
        {"label": "L-404", "status": None},
    ]
    # All or nothing: neither the counted line nor L-2 was taken.
    assert level(api, "CNT") == (5, 0, 5) and label(api, "L-2")["status"] == "ACTIVE"


def test_a_quantity_line_on_labelled_stock_needs_labels(api: HandlerClient) -> None:
    put_label(api, "L-1", 3)
    line = {"sku": "SER", "location": "WH1", "quantity": 1}
    refused = api.post("/reservations", {"items": [line]})
    assert (refused.status, refused.json["error"]) == (409, "LABELS_REQUIRED"), refused.text
    oversell = api.post("/reservations", {"items": [{**line, "allowOversell": True}]})
    assert oversell.json["error"] == "LABELS_REQUIRED"
    assert level(api) == (3, 0, 3)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"sku": "SER", "labels": ["L-1"]}, "body.items[0].labels"),  # no location
        ({"sku": "SER", "location": "WH1"}, "body.items[0].quantity"),  # neither
        ({"sku": "SER", "location": "WH1", "labels": ["L-1"], "allowOversell": True}, None),
        ({"sku": "SER", "location": "WH1", "labels": [f"L-{i}" for i in range(97)]}, None),
    ],
)
def test_label_lines_are_checked_before_anything_is_written(
    api: HandlerClient, line: dict[str, Any], field: str | None
) -> None:
    put_label(api, "L-1", 1)
    refused = api.post("/reservations", {"items": [line]})
    assert (refused.status, refused.json["error"]) == (400, "VALIDATION_ERROR"), refused.text
    if field is not None:
        assert refused.json["details"][0]["field"] == field
    assert level(api) == (1, 0, 1)


def test_a_label_is_named_once_and_a_request_names_what_one_transaction_carries(
    api: HandlerClient,
) -> None:
    put_label(api, "L-1", 1)
    put_label(api, "L-2", 1, location="WH2")
    twice = [
        {"sku": "SER", "location": "WH1", "labels": ["L-1"]},
        {"sku": "SER", "location": "WH2", "labels": ["L-2", "L-1"]},
    ]
    refused = api.post("/reservations", {"items": twice})
    assert refused.status == 400 and "items[1] names label 'L-1' of items[0]" in refused.text
    # Two lines: 100 - 2 - 2 * 2 = 94 labels at most, over both.
    many = [
        {"sku": "SER", "location": "WH1", "labels": [f"A-{i}" for i in range(50)]},
        {"sku": "SER", "location": "WH2", "labels": [f"B-{i}" for i in range(45)]},
    ]
    too_many = api.post("/reservations", {"items": many})
    assert too_many.status == 400 and "names at most 94" in too_many.text
    assert level(api) == (1, 0, 1)


def test_as_many_labels_as_one_transaction_carries(api: HandlerClient) -> None:
    names = [f"L-{i}" for i in range(96)]
    for name in names:
        put_label(api, name, 1)
    created = hold(api, "r1", names)
    assert created.status == 201, created.text
    assert level(api) == (96, 96, 0)
    assert api.as_(STOREFRONT).delete("/reservations/r1").status == 200
    assert level(api) == (96, 0, 96)


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
