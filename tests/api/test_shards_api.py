"""``"shards"`` on a stock write: splitting a hot record into buckets and back, through the
handler, on moto server and DynamoDB Local."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.drift import check_table
from reservations.store.keys import stock_key
from tests.support.api_client import HandlerClient

SKU, LOCATION = "HOT", "WH1"
LEVEL = f"/inventory/{SKU}/locations/{LOCATION}"


def reserve(api: HandlerClient, hold: str, quantity: int) -> Any:
    line = {"sku": SKU, "location": LOCATION, "quantity": quantity}
    return api.post("/reservations", {"id": hold, "items": [line]})


def test_shards_spread_available_and_keep_the_totals(
    api: HandlerClient, engine_client: Any, engine_table: str
) -> None:
    assert api.put(LEVEL, {"onHand": 100}).status == 200
    assert reserve(api, "before", 10).status == 201
    split = api.put(LEVEL, {"shards": 8})
    assert split.status == 200, split.text
    assert (split.json["shards"], split.json["available"], split.json["reserved"]) == (8, 90, 10)
    assert split.headers["ETag"] == '"1"'  # holds and buckets are not physical stock
    for hold in range(9):  # taken from buckets: 9 x 10 is exactly what is left
        assert reserve(api, f"h{hold}", 10).status == 201
    assert reserve(api, "over", 1).json["error"] == "INSUFFICIENT_STOCK"
    read = api.get(LEVEL).json
    assert (read["shards"], read["available"], read["reserved"]) == (8, 0, 100)
    assert api.get(f"/inventory/{SKU}").json["reserved"] == 100
    assert check_table(engine_client, engine_table).problems == []


def test_one_shard_gathers_the_record_back(
    api: HandlerClient, engine_client: Any, engine_table: str
) -> None:
    api.put(LEVEL, {"onHand": 40})
    api.put(LEVEL, {"shards": 4})
    assert reserve(api, "held", 7).status == 201
    back = api.put(LEVEL, {"shards": 1})
    assert (back.status, back.json["shards"], back.json["available"]) == (200, 1, 33)
    # The hold stays on its (now closed) bucket and still gives its units back.
    assert api.delete("/reservations/held").status == 200
    after = api.get(LEVEL).json
    assert (after["shards"], after["available"], after["reserved"]) == (1, 40, 0)
    assert check_table(engine_client, engine_table).problems == []


def test_if_match_guards_a_reshard(api: HandlerClient) -> None:
    tag = api.put(LEVEL, {"onHand": 10}).headers["ETag"]
    api.put(LEVEL, {"onHand": 12})
    stale = api.put(LEVEL, {"shards": 4}, headers={"If-Match": tag})
    assert stale.status == 412, stale.text
    assert (stale.json["error"], stale.json["current"]["version"]) == ("PRECONDITION_FAILED", 2)
    assert api.get(LEVEL).json["shards"] == 1
    fresh = api.put(LEVEL, {"shards": 4}, headers={"If-Match": '"2"'})
    assert (fresh.status, fresh.json["shards"]) == (200, 4)


def test_a_repeated_key_answers_the_first_reshard(api: HandlerClient) -> None:
    api.put(LEVEL, {"onHand": 30})
    key = {"Idempotency-Key": "split-1"}
    first = api.put(LEVEL, {"shards": 3}, headers=key)
    api.put(LEVEL, {"shards": 1})
    again = api.put(LEVEL, {"shards": 3}, headers=key)
    assert again.status == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.text == first.text
    assert api.get(LEVEL).json["shards"] == 1  # the replay changed nothing


def test_shards_on_a_missing_record_is_404(api: HandlerClient) -> None:
    missing = api.put(LEVEL, {"shards": 2})
    assert (missing.status, missing.json["error"]) == (404, "NOT_FOUND")


@pytest.mark.parametrize(
    "body",
    [
        {"shards": 0},
        {"shards": 65},
        {"shards": "4"},
        {"shards": 4, "onHand": 5},
        {"shards": 4, "reason": "sale"},
        {"shards": None},
    ],
    ids=["zero", "over-64", "string", "with-a-measure", "with-a-reason", "null"],
)
def test_bad_shards_are_400(api: HandlerClient, body: dict[str, Any]) -> None:
    api.put(LEVEL, {"onHand": 5})
    refused = api.put(LEVEL, body)
    assert (refused.status, refused.json["error"]) == (400, "VALIDATION_ERROR"), refused.text
    assert api.get(LEVEL).json["shards"] == 1


def test_serialized_stock_cannot_be_sharded(api: HandlerClient) -> None:
    label = {"sku": SKU, "location": LOCATION, "quantity": 2}
    assert api.put("/labels/L-1", label).status in (200, 201)
    refused = api.put(LEVEL, {"shards": 2})
    assert (refused.status, refused.json["error"]) == (409, "STOCK_SERIALIZED"), refused.text


def test_a_count_below_the_held_with_a_key_leaves_the_record_in_debt(
    api: HandlerClient, engine_client: Any, engine_table: str
) -> None:
    api.put(LEVEL, {"onHand": 20})
    api.put(LEVEL, {"shards": 4})
    for hold in range(3):
        assert reserve(api, f"h{hold}", 4).status == 201
    key = {"Idempotency-Key": "recount-1"}
    counted = api.put(LEVEL, {"onHand": 5}, headers=key)  # 12 held: -7
    assert counted.status == 200, counted.text
    assert (counted.json["available"], counted.json["reserved"]) == (-7, 12)
    assert reserve(api, "more", 1).json["error"] == "INSUFFICIENT_STOCK"
    assert api.put(LEVEL, {"onHand": 5}, headers=key).text == counted.text
    assert check_table(engine_client, engine_table).problems == []
    api.put(LEVEL, {"onHand": 30})  # paid: 18 again, and the buckets take holds again
    assert reserve(api, "after", 18).status == 201
    assert check_table(engine_client, engine_table).problems == []


def test_one_shard_on_a_record_never_sharded_changes_nothing(
    api: HandlerClient, engine_client: Any, engine_table: str
) -> None:
    api.put(LEVEL, {"onHand": 5})
    same = api.put(LEVEL, {"shards": 1})
    assert (same.status, same.json["shards"], same.json["available"]) == (200, 1, 5)
    item = engine_client.get_item(TableName=engine_table, Key=stock_key(SKU, LOCATION))["Item"]
    assert "bucketsEver" not in item  # its writes and reads stay the record's alone
