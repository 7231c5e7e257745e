"""The contention rules on their own, against the AWS developer guide's statements
(local/contention/rules.py lists them), on a clock the test moves."""

from __future__ import annotations

import json
import random

import pytest

from local.contention import (
    Access,
    ItemRef,
    Kind,
    Latency,
    Limits,
    Operation,
    Outcome,
    Rules,
    Ticket,
)
from local.contention.requests import KeySchema, item_size, operation_of, write_units

SCHEMA = KeySchema("PK", "SK")
STOCK = ItemRef("t", "S:SKU#HOT", "S:LOC#WH1")
OTHER_LOCATION = ItemRef("t", "S:SKU#HOT", "S:LOC#WH2")  # same partition, another item


def header(n: int) -> ItemRef:
    return ItemRef("t", f"S:RES#{n}", "S:RES")


def transaction(*items: ItemRef, units: int = 2) -> Operation:
    return Operation("TransactWriteItems", Kind.TRANSACTION, tuple(Access(i, units) for i in items))


def write(item: ItemRef) -> Operation:
    return Operation("UpdateItem", Kind.WRITE, (Access(item, 1),))


def transact_get(*items: ItemRef) -> Operation:
    return Operation("TransactGetItems", Kind.TRANSACT_READ, tuple(Access(i, 0) for i in items))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_transaction_with_an_item_of_an_ongoing_transaction_is_cancelled_on_that_item() -> None:
    rules = Rules(Limits(partition_wcu_per_second=None))
    first = rules.admit(transaction(header(1), STOCK))
    refused = rules.admit(transaction(header(2), STOCK))
    assert refused.outcome is Outcome.CONFLICT  # type: ignore[union-attr]
    assert refused.culprits == (1,)  # type: ignore[union-attr]
    rules.release(first)  # type: ignore[arg-type]
    assert isinstance(rules.admit(transaction(header(2), STOCK)), Ticket)
    assert rules.stats.count("TransactWriteItems", Outcome.CONFLICT) == 1
    assert rules.stats.rate("TransactWriteItems", Outcome.CONFLICT) == pytest.approx(1 / 3)


def test_transactions_on_other_items_of_the_same_partition_do_not_conflict() -> None:
    rules = Rules(Limits(partition_wcu_per_second=None))
    rules.admit(transaction(header(1), STOCK))
    assert isinstance(rules.admit(transaction(header(2), OTHER_LOCATION)), Ticket)


def test_a_plain_write_on_an_item_of_an_ongoing_transaction_is_rejected() -> None:
    rules = Rules(Limits(partition_wcu_per_second=None))
    ticket = rules.admit(transaction(header(1), STOCK))
    assert rules.admit(write(STOCK)).outcome is Outcome.CONFLICT  # type: ignore[union-attr]
    rules.release(ticket)  # type: ignore[arg-type]
    assert not rules.ongoing(STOCK)
    assert isinstance(rules.admit(write(STOCK)), Ticket)


def test_what_the_guide_does_not_call_a_conflict_goes_through() -> None:
    rules = Rules(Limits(partition_wcu_per_second=None))
    rules.admit(write(STOCK))
    assert isinstance(rules.admit(write(STOCK)), Ticket)  # plain on plain
    assert isinstance(rules.admit(transaction(header(1), STOCK)), Ticket)


def test_a_transact_get_conflicts_with_ongoing_writes_of_either_kind_and_holds_nothing() -> None:
    rules = Rules(Limits(partition_wcu_per_second=None))
    plain = rules.admit(write(STOCK))
    refused = rules.admit(transact_get(header(9), STOCK))
    assert (refused.outcome, refused.culprits) == (Outcome.CONFLICT, (1,))  # type: ignore[union-attr]
    rules.release(plain)  # type: ignore[arg-type]
    rules.admit(transact_get(STOCK))
    assert not rules.ongoing(STOCK)


def test_a_partition_serves_1000_write_units_a_second() -> None:
    clock = Clock()
    rules = Rules(Limits(conflicts=False), clock)
    # A transactional write of a small item costs 2 units: 500 fit in the first second.
    for n in range(500):
        rules.admit(transaction(STOCK if n % 2 else OTHER_LOCATION))
    refused = rules.admit(transaction(header(1), STOCK))
    assert (refused.outcome, refused.culprits) == (Outcome.THROTTLED, (1,))  # type: ignore[union-attr]
    assert isinstance(rules.admit(transaction(header(2))), Ticket)  # another key
    clock.now += 0.002  # 2 units refilled
    assert isinstance(rules.admit(transaction(STOCK)), Ticket)
    assert rules.admit(transaction(STOCK)).outcome is Outcome.THROTTLED  # type: ignore[union-attr]


def test_a_refused_request_consumes_no_units() -> None:
    clock = Clock()
    rules = Rules(Limits(partition_wcu_per_second=4, burst_seconds=1), clock)
    holder = rules.admit(transaction(STOCK))  # 2 of 4
    for _ in range(5):
        assert rules.admit(transaction(STOCK)).outcome is Outcome.CONFLICT  # type: ignore[union-attr]
    rules.release(holder)  # type: ignore[arg-type]
    assert isinstance(rules.admit(transaction(STOCK)), Ticket)  # the other 2


def test_rules_switch_off() -> None:
    rules = Rules(Limits(conflicts=False, partition_wcu_per_second=None))
    for _ in range(2000):
        rules.admit(transaction(STOCK))
    assert rules.stats.count("TransactWriteItems", Outcome.ADMITTED) == 2000


def test_write_units_follow_item_size_and_double_in_a_transaction() -> None:
    assert item_size({"PK": {"S": "abc"}}) == 5
    assert item_size({"n": {"N": "123.45"}}) == 1 + 4  # 5 digits: 3 bytes, plus one
    big = {"PK": {"S": "x"}, "SK": {"S": "y"}, "blob": {"S": "z" * 1500}}
    assert write_units(item_size(big), transactional=False) == 2
    assert write_units(item_size(big), transactional=True) == 4
    assert write_units(None, transactional=True) == 2  # an Update: counted as 1 KB


def test_requests_are_read_for_their_items() -> None:
    body = {
        "TransactItems": [
            {"Put": {"TableName": "t", "Item": {"PK": {"S": "RES#1"}, "SK": {"S": "RES"}}}},
            {"Update": {"TableName": "t", "Key": {"PK": {"S": "SKU#HOT"}, "SK": {"S": "LOC#WH1"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"PK": {"S": "X"}, "SK": {"S": "Y"}}}},
        ]
    }
    operation = operation_of(
        "DynamoDB_20120810.TransactWriteItems", json.dumps(body).encode(), SCHEMA
    )
    assert operation is not None and operation.kind is Kind.TRANSACTION
    assert [a.item for a in operation.accesses] == [
        header(1),
        STOCK,
        ItemRef("t", "S:X", "S:Y"),
    ]
    assert [a.units for a in operation.accesses] == [2, 2, 2]
    get = json.dumps({"TableName": "t", "Key": {"PK": {"S": "a"}, "SK": {"S": "b"}}}).encode()
    assert operation_of("DynamoDB_20120810.GetItem", get, SCHEMA) is None
    put = json.dumps({"TableName": "t", "Item": {"PK": {"N": "1"}, "SK": {"S": "b"}}}).encode()
    plain = operation_of("DynamoDB_20120810.PutItem", put, SCHEMA)
    assert plain is not None and plain.accesses == (Access(ItemRef("t", "N:1", "S:b"), 1),)


@pytest.mark.parametrize(
    ("spec", "low", "high"),
    [
        ("none", 0, 0),
        ("constant:5ms", 0.005, 0.005),
        ("uniform:10ms,2ms", 0.002, 0.010),
        ("exponential:mean=4ms", 0, 1),
        ("lognormal:median=6ms,p99=20ms", 0, 1),
    ],
)
def test_latency_specs(spec: str, low: float, high: float) -> None:
    latency = Latency.parse(spec)
    rng = random.Random(7)
    samples = sorted(latency.sample(rng) for _ in range(20_000))
    assert low <= samples[0] and samples[-1] <= high
    assert Latency.parse(str(latency)) == latency
    if latency.kind == "lognormal":
        assert samples[10_000] == pytest.approx(0.006, rel=0.05)
        assert samples[19_800] == pytest.approx(0.020, rel=0.1)
    assert sum(samples) / len(samples) == pytest.approx(latency.mean, rel=0.05, abs=1e-9)


@pytest.mark.parametrize("spec", ["constant", "uniform:1ms", "lognormal:median=9ms,p99=5ms", "x:1"])
def test_bad_latency_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError, match=r"spec|median"):
        Latency.parse(spec)
