"""Writes of a stock record's measures under a supply formula (moto): available moves by
the formula's worth of each change, in one request when this environment knew the
measure's earlier value and two when not, and no concurrent update is lost."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reservations.clock import ManualClock
from reservations.commands import SetThreshold
from reservations.config import Settings
from reservations.erp import Effect, ErpService
from reservations.erp_messages import PoisonMessage, parse_message
from reservations.errors import Contention, InvalidRequest
from reservations.records import Cause, Receipt
from reservations.service import ReservationService
from reservations.store import Store, measure_writes
from reservations.store.keys import stock_key
from reservations.store.retry import RetryPolicy
from reservations.store.stock import VersionMismatch
from reservations.supply import measure_names, parse
from tests.conftest import client_for
from tests.support.engine_hooks import hooked, requests_seen, without_old_items
from tests.support.invariants import check_invariants

NOW = 1_800_000_000
MEASURES = measure_names(["damaged"])
FORMULA = parse("onHand + inbound - outbound - safetyStock", MEASURES)


def store(client: Any, table: str) -> Store:
    return Store(client, table, formula=FORMULA)


def settings(table: str) -> Settings:
    return Settings(table_name=table, supply_formula=FORMULA, stock_measures=MEASURES)


def service(client: Any, table: str) -> ReservationService:
    retry = RetryPolicy(attempts=3, base_delay=0)
    return ReservationService(store(client, table), ManualClock(NOW), settings(table), retry)


def raw(client: Any, table: str, sku: str = "A") -> dict[str, Any]:
    item: dict[str, Any] = client.get_item(TableName=table, Key=stock_key(sku, "WH1"))["Item"]
    return item


def test_each_measure_moves_available_by_its_worth_in_the_formula(
    moto_client: Any, moto_table: str
) -> None:
    stock = store(moto_client, moto_table).stock
    steps = [
        ({"onHand": 10}, 10),
        ({"inbound": 5}, 15),
        ({"safetyStock": 2, "outbound": 1}, 12),
        ({"onHand": 4, "inbound": 0}, 1),
        ({"damaged": 7}, 1),  # a measure outside the formula moves nothing
    ]
    for values, available in steps:
        level = stock.set_measures("A", "WH1", values, NOW)
        assert (level.available, level.supply) == (available, available)
    assert level.measures == {"inbound": 0, "outbound": 1, "safetyStock": 2, "damaged": 7}
    assert level.on_hand == 4 and level.version == len(steps)
    check_invariants(moto_client, moto_table, FORMULA)


def test_a_new_record_made_of_one_measure_has_the_rest(moto_client: Any, moto_table: str) -> None:
    level = store(moto_client, moto_table).stock.set_measures("A", "WH1", {"safetyStock": 3}, NOW)
    assert (level.on_hand, level.reserved, level.available) == (0, 0, -3)
    check_invariants(moto_client, moto_table, FORMULA)


def test_one_request_when_the_environment_knew_the_value_two_when_not(
    moto_client: Any, moto_table: str
) -> None:
    mine, other = store(moto_client, moto_table).stock, store(moto_client, moto_table).stock
    with requests_seen(moto_client) as seen:
        mine.set_measures("A", "WH1", {"onHand": 10, "inbound": 2}, NOW)  # a new record
        mine.set_measures("A", "WH1", {"inbound": 6}, NOW)  # it knows what it wrote
    assert [name for name, _ in seen] == ["UpdateItem", "UpdateItem"]
    other.set_measures("A", "WH1", {"inbound": 9}, NOW)  # unseen: refused once, then right
    with requests_seen(moto_client) as seen:
        level = mine.set_measures("A", "WH1", {"inbound": 1}, NOW)  # 9 moved under it
    assert [name for name, _ in seen] == ["UpdateItem", "UpdateItem"]
    assert (level.measure("inbound"), level.available) == (1, 11)
    check_invariants(moto_client, moto_table, FORMULA)


def test_under_the_default_formula_onhand_needs_no_earlier_value(
    moto_client: Any, moto_table: str
) -> None:
    Store(moto_client, moto_table).stock.set_on_hand("A", "WH1", 5, NOW)
    with requests_seen(moto_client) as seen:
        level = Store(moto_client, moto_table).stock.set_on_hand("A", "WH1", 8, NOW)
    assert len(seen) == 1 and "#m0" not in seen[0][1]["ConditionExpression"]
    assert level.available == 8


def test_a_reserve_between_writes_is_kept(moto_client: Any, moto_table: str) -> None:
    svc = service(moto_client, moto_table)
    svc.set_measures("A", "WH1", {"onHand": 10, "safetyStock": 2})
    svc.reserve(_request(3), "web")
    level = svc.set_measures("A", "WH1", {"safetyStock": 5})
    assert (level.reserved, level.available) == (3, 2)
    check_invariants(moto_client, moto_table, FORMULA)


def test_a_write_names_its_cause_and_never_an_earlier_one(
    moto_client: Any, moto_table: str
) -> None:
    stock = store(moto_client, moto_table).stock
    stock.set_measures("A", "WH1", {"onHand": 3}, NOW, cause=Cause("web", "count", "C-1"))
    item = raw(moto_client, moto_table)
    assert (item["moveSource"], item["moveReason"], item["moveReference"]) == (
        {"S": "web"},
        {"S": "count"},
        {"S": "C-1"},
    )
    stock.adjust_on_hand(
        Receipt("adjust", "a1", "fp"), "A", "WH1", 2, NOW, token="t", cause=Cause("erp")
    )
    item = raw(moto_client, moto_table)
    assert item["moveSource"] == {"S": "erp"}
    assert "moveReason" not in item and "moveReference" not in item


def test_the_service_refuses_a_measure_the_deployment_lacks(
    moto_client: Any, moto_table: str
) -> None:
    with pytest.raises(InvalidRequest) as refused:
        service(moto_client, moto_table).set_measures("A", "WH1", {"quarantined": 1})
    assert refused.value.field == "body.quarantined"
    assert "the measures are onHand, inbound, outbound, safetyStock, damaged" in str(refused.value)


# --- the ERP ----------------------------------------------------------------------------


def erp(client: Any, table: str) -> ErpService:
    retry = RetryPolicy(attempts=3, base_delay=0)
    return ErpService(store(client, table), ManualClock(NOW), settings(table), retry)


def message(**fields: Any) -> Any:
    body = {"schemaVersion": 1, "sku": "A", "location": "WH1", **fields}
    return parse_message(json.dumps(body))


def test_a_late_snapshot_of_one_measure_never_rolls_it_back_nor_touches_another(
    moto_client: Any, moto_table: str
) -> None:
    service_ = erp(moto_client, moto_table)
    apply = service_.apply
    assert apply(message(type="stock.set", onHand=10, sequence=5)).effect is Effect.APPLIED
    inbound = {"type": "stock.set", "measure": "inbound"}
    assert apply(message(**inbound, value=4, sequence=7)).effect is Effect.APPLIED
    assert apply(message(**inbound, value=1, sequence=6)).effect is Effect.STALE
    assert apply(message(**inbound, value=6, sequence=8)).effect is Effect.APPLIED
    # onHand's own sequence is untouched by inbound's.
    assert apply(message(type="stock.set", onHand=9, sequence=6)).effect is Effect.APPLIED
    item = raw(moto_client, moto_table)
    assert (item["onHand"], item["inbound"], item["available"]) == (
        {"N": "9"},
        {"N": "6"},
        {"N": "15"},
    )
    assert (item["erpSequence"], item["erpSequence#inbound"]) == ({"N": "6"}, {"N": "8"})
    check_invariants(moto_client, moto_table, FORMULA)


def test_an_adjustment_of_a_measure_moves_available_by_its_worth(
    moto_client: Any, moto_table: str
) -> None:
    apply = erp(moto_client, moto_table).apply
    apply(message(type="stock.set", onHand=10, sequence=1))
    adjust = {"type": "stock.adjust", "measure": "safetyStock"}
    outcome = apply(message(**adjust, adjustmentId="a-1", delta=12, reason="season"))
    assert (outcome.effect, outcome.shortfall) == (Effect.APPLIED, 2)
    again = apply(message(**adjust, adjustmentId="a-1", delta=12, reason="season"))
    assert again.effect is Effect.DUPLICATE
    item = raw(moto_client, moto_table)
    assert (item["safetyStock"], item["available"], item["moveReason"]) == (
        {"N": "12"},
        {"N": "-2"},
        {"S": "season"},
    )
    check_invariants(moto_client, moto_table, FORMULA)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"type": "stock.set", "measure": "quarantined", "value": 1, "sequence": 1}, "quarantined"),
        ({"type": "stock.adjust", "measure": "nope", "adjustmentId": "a", "delta": 1}, "nope"),
    ],
)
def test_a_message_naming_a_measure_the_deployment_lacks_is_poison(
    moto_client: Any, moto_table: str, fields: dict[str, Any], reason: str
) -> None:
    with pytest.raises(PoisonMessage, match=f"measure: '{reason}' is not a measure"):
        erp(moto_client, moto_table).apply(message(**fields))


def _request(quantity: int) -> Any:
    from reservations.http.models import CreateReservationRequest

    return CreateReservationRequest.model_validate(
        {"items": [{"sku": "A", "location": "WH1", "quantity": quantity}]}
    ).to_command()


# --- refusals and their corrections -----------------------------------------------------


def test_a_first_snapshot_of_a_measure_from_a_stale_view_is_applied_not_stale(
    moto_client: Any, moto_table: str
) -> None:
    mine, other = store(moto_client, moto_table).stock, store(moto_client, moto_table).stock
    other.set_measures("A", "WH1", {"onHand": 5, "inbound": 2}, NOW)  # never seen by mine
    with requests_seen(moto_client) as seen:
        level = mine.set_on_hand_in_sequence("A", "WH1", 7, 1, NOW, measure="inbound")
    assert (level.measure("inbound"), level.available) == (7, 12)
    assert [name for name, _ in seen] == ["UpdateItem", "UpdateItem"]  # refused, corrected
    with requests_seen(moto_client) as seen:
        mine.set_on_hand_in_sequence("A", "WH1", 8, 2, NOW, measure="inbound")
    assert len(seen) == 1  # it knows the record now
    check_invariants(moto_client, moto_table, FORMULA)


def test_a_compare_and_set_from_a_stale_view_succeeds_at_a_listed_version(
    moto_client: Any, moto_table: str
) -> None:
    mine, other = store(moto_client, moto_table).stock, store(moto_client, moto_table).stock
    mine.set_measures("A", "WH1", {"onHand": 5, "inbound": 1}, NOW)
    other.set_measures("A", "WH1", {"inbound": 3}, NOW)  # version 2, unseen by mine
    level = mine.set_measures("A", "WH1", {"inbound": 4}, NOW, expected_version=(1, 2))
    assert (level.version, level.available) == (3, 9)
    with pytest.raises(VersionMismatch) as moved:
        mine.set_measures("A", "WH1", {"inbound": 6}, NOW, expected_version=(1, 2))
    assert moved.value.current is not None and moved.value.current.version == 3
    with pytest.raises(VersionMismatch) as missing:
        mine.set_measures("B", "WH1", {"inbound": 6}, NOW, expected_version=1)
    assert missing.value.current is None
    with pytest.raises(VersionMismatch):  # the default formula's onHand path too
        Store(moto_client, moto_table).stock.set_on_hand("B", "WH1", 6, NOW, expected_version=1)
    check_invariants(moto_client, moto_table, FORMULA)


def test_a_refusal_without_the_old_item_reads_the_record(moto_client: Any, moto_table: str) -> None:
    mine, other = store(moto_client, moto_table).stock, store(moto_client, moto_table).stock
    other.set_measures("A", "WH1", {"onHand": 5, "inbound": 2}, NOW)
    with without_old_items(moto_client, "UpdateItem"):
        level = mine.set_measures("A", "WH1", {"inbound": 3}, NOW)
    assert (level.measure("inbound"), level.available) == (3, 8)
    check_invariants(moto_client, moto_table, FORMULA)


class _Meddling:
    """Before each UpdateItem of the store, another writer moves the measure, so every view
    the store has is stale by the time its write arrives."""

    def __init__(self, client: Any, table: str) -> None:
        self.client, self.table, self.value = client, table, 100

    def __call__(self, **_: Any) -> None:
        self.value += 1
        self.client.update_item(
            TableName=self.table, Key=stock_key("A", "WH1"),
            UpdateExpression="SET inbound = :v", ExpressionAttributeValues={":v": {"N": str(self.value)}},
        )  # fmt: skip


def test_a_measure_that_keeps_moving_under_the_write_is_contention(
    moto_client: Any, moto_table: str
) -> None:
    stock = store(moto_client, moto_table).stock
    stock.set_measures("A", "WH1", {"onHand": 5, "inbound": 1}, NOW)
    other = client_for(moto_client.meta.endpoint_url)
    with hooked(moto_client, "before-call.dynamodb.UpdateItem", _Meddling(other, moto_table)):
        with pytest.raises(Contention) as busy:
            stock.set_measures("A", "WH1", {"inbound": 2}, NOW)
        assert str(busy.value) == "stock 'A' at 'WH1' kept changing; try again"
        with pytest.raises(Contention) as busy:
            stock.set_on_hand_in_sequence("A", "WH1", 2, 9, NOW, measure="inbound")
        assert str(busy.value) == "stock 'A' at 'WH1' kept changing; try again"


def test_a_threshold_and_a_cause_reach_the_record_by_every_door(
    moto_client: Any, moto_table: str
) -> None:
    stock = store(moto_client, moto_table).stock
    level = stock.set_measures("A", "WH1", {"inbound": 3}, NOW, threshold=SetThreshold(2))
    assert level.low_stock_threshold == 2
    stock.set_on_hand("A", "WH1", 4, NOW, cause=Cause("pos", "count"))
    item = raw(moto_client, moto_table)
    assert (item["moveSource"], item["moveReason"], item["lowStockThreshold"]) == (
        {"S": "pos"},
        {"S": "count"},
        {"N": "2"},
    )


def test_an_environment_forgets_the_records_it_saw_longest_ago(
    moto_client: Any, moto_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It remembers KNOWN_RECORDS records: a write to one of them is one request, to one
    it has forgotten two (refused on the value it no longer knows, then right)."""
    monkeypatch.setattr(measure_writes, "KNOWN_RECORDS", 2)
    mine = store(moto_client, moto_table).stock
    for sku in ("A", "B", "C"):
        mine.set_measures(sku, "WH1", {"inbound": 2}, NOW)

    def requests_for(sku: str) -> int:
        with requests_seen(moto_client) as seen:
            mine.set_measures(sku, "WH1", {"inbound": 3}, NOW)
        return len(seen)

    assert requests_for("C") == 1  # the last seen
    assert requests_for("B") == 1  # and the one before it
    assert requests_for("A") == 2  # the oldest, forgotten
