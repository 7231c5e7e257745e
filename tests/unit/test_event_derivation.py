"""Which events one item change tells (reservations.events.derive), from stream records as
Lambda passes them; every event checked against its schema."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from reservations.events.derive import derive
from reservations.records import Change, Line, Reservation, Status
from reservations.store.changes import read_change
from reservations.store.items import header_item
from reservations.store.keys import Entity, n, s
from reservations.store.notices import DeadLetterNotice, notice_item
from tests.support.event_bus import validate

HOLD = Reservation(
    id="r1",
    status=Status.ACTIVE,
    channel="storefront",
    lines=(Line("A", "WH1", 2, held=2),),
    created_at=1_800_000_000,
    expires_at=1_800_000_900,
    fingerprint="f",
    version=1,
    updated_at=1_800_000_000,
)


def record(
    event_id: str,
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    *,
    by_ttl: bool = False,
) -> dict[str, Any]:
    body: dict[str, Any] = {"SequenceNumber": "1", "ApproximateCreationDateTime": 1_800_000_100}
    if old is not None:
        body["OldImage"] = old
    if new is not None:
        body["NewImage"] = new
    name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    found: dict[str, Any] = {"eventID": event_id, "eventName": name, "dynamodb": body}
    if by_ttl:
        found["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return found


def told(raw: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    change = read_change(raw)
    found = [] if change is None else derive(change)
    for event in found:
        detail = {**event.detail}
        if event.lines_of is not None:  # the relay adds the lines it reads
            detail |= {"items": [], "itemsVersion": None}
        validate(
            {"detail-type": event.detail_type, "source": "reservations", "id": "x"}
            | {"time": "t", "detail": detail}
        )
    return [(event.detail_type, event.detail) for event in found]


def stock_item(available: int, on_hand: int = 10, threshold: int | None = 3) -> dict[str, Any]:
    item = {
        "PK": s("SKU#A"), "SK": s("LOC#WH1"), "entity": s(Entity.STOCK), "sku": s("A"),
        "location": s("WH1"), "onHand": n(on_hand), "reserved": n(on_hand - available),
        "available": n(available), "version": n(1), "updatedAt": n(1_800_000_000),
    }  # fmt: skip
    if threshold is not None:
        item["lowStockThreshold"] = n(threshold)
    return item


def test_each_step_of_a_hold_is_named_by_the_change_its_header_records() -> None:
    created = header_item(HOLD)
    [(kind, detail)] = told(record("e1", None, created))
    assert kind == "reservation.created"
    assert (detail["status"], detail["previousStatus"], detail["channel"]) == (
        "ACTIVE", None, "storefront",
    )  # fmt: skip
    for step, status in [
        (Change.CONFIRMED, Status.CONFIRMED),
        (Change.RELEASED, Status.ACTIVE),
        (Change.OFFSET, Status.FULFILLED),
        (Change.CANCELLED, Status.CANCELLED),
    ]:
        after = header_item(replace(HOLD, version=2, status=status, change=step))
        [(kind, detail)] = told(record("e2", created, after))
        assert kind == f"reservation.{step.value}"
        assert (detail["status"], detail["previousStatus"]) == (status.value, "ACTIVE")


def test_ids_are_the_same_for_a_redelivered_record_and_differ_per_change() -> None:
    created = header_item(HOLD)
    first = told(record("e1", None, created))[0][1]["eventId"]
    assert told(record("e1", None, created))[0][1]["eventId"] == first
    assert told(record("e9", None, created))[0][1]["eventId"] != first


def test_a_header_write_without_a_new_version_tells_nothing() -> None:
    assert told(record("e1", header_item(HOLD), header_item(HOLD))) == []


def test_ttl_deleting_an_active_hold_tells_it_expired_and_an_ended_one_nothing() -> None:
    [(kind, detail)] = told(record("e1", header_item(HOLD), None, by_ttl=True))
    assert (kind, detail["status"], detail["purged"]) == ("reservation.expired", "EXPIRED", True)
    ended = header_item(replace(HOLD, status=Status.CANCELLED, version=2))
    assert told(record("e2", ended, None, by_ttl=True)) == []
    assert told(record("e3", header_item(HOLD), None)) == []  # not TTL's: nothing


def test_stock_tells_onhand_changes_and_crossings_only() -> None:
    [(kind, _)] = told(record("e1", None, stock_item(10)))
    assert kind == "stock.changed"
    assert told(record("e2", stock_item(10), stock_item(4))) == []  # a hold; not low yet
    assert [k for k, _ in told(record("e3", stock_item(4), stock_item(2)))] == ["stock.low"]
    assert told(record("e4", stock_item(2), stock_item(1))) == []  # still low: told once
    kinds = [k for k, _ in told(record("e5", stock_item(1), stock_item(-1, on_hand=3)))]
    assert kinds == ["stock.changed", "stock.negative"]
    # A threshold set above what is available is low at once; removing it tells nothing.
    assert [
        k for k, _ in told(record("e6", stock_item(5, threshold=None), stock_item(5, 10, 8)))
    ] == ["stock.low"]
    assert told(record("e7", stock_item(5, 10, 8), stock_item(5, threshold=None))) == []


def sharded(item: dict[str, Any], shards: int = 4) -> dict[str, Any]:
    return item | {"shards": n(shards), "bucketsEver": n(shards)}


def test_a_sharded_record_tells_changes_for_the_relay_to_total_and_no_crossing() -> None:
    # Its image is bucket 0 alone: 1 available of a threshold of 3 says nothing of the total.
    assert told(record("e1", sharded(stock_item(4)), sharded(stock_item(1)))) == []
    [(kind, detail)] = told(record("e2", stock_item(10), sharded(stock_item(10))))
    assert (kind, detail["shards"], detail["previous"]) == ("stock.changed", 4, None)
    change = read_change(record("e3", sharded(stock_item(2)), sharded(stock_item(2, 8))))
    assert change is not None
    [event] = derive(change)
    assert (event.detail_type, event.totals_of) == ("stock.changed", ("A", "WH1"))
    assert [
        k for k, _ in told(record("e4", sharded(stock_item(-1)), sharded(stock_item(-2, 3))))
    ] == ["stock.changed"]
    # The last bucket gathered back: still over buckets that may hold closed holds.
    back = stock_item(10) | {"bucketsEver": n(4)}
    [(kind, detail)] = told(record("e5", sharded(stock_item(10)), back))
    assert (kind, detail["shards"]) == ("stock.changed", 1)


def test_a_dead_letter_notice_tells_its_message_and_reason_once() -> None:
    notice = DeadLetterNotice("m-1", "A", "schema error at sku", 1_800_000_000, "stock.set", "A")
    item = notice_item(notice, 1_800_100_000)
    [(kind, detail)] = told(record("e1", None, item))
    assert kind == "erp.message.deadLettered"
    assert (detail["messageId"], detail["reason"], detail["location"]) == (
        "m-1", "schema error at sku", None,
    )  # fmt: skip
    assert told(record("e2", item, None, by_ttl=True)) == []


def test_hold_lines_receipts_and_keys_tell_nothing() -> None:
    line = {"PK": s("RES#r1"), "SK": s("LINE#A#WH1"), "entity": s(Entity.HOLD_LINE)}
    assert told(record("e1", None, line)) == []
