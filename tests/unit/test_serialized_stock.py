"""A (sku, location) whose stock is its labels refuses every counted write of onHand, by
whichever door it comes, naming the record; and allocation never takes from it (moto)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from reservations.errors import StockSerialized
from reservations.records import Label, Receipt
from reservations.store import Store
from reservations.store.keys import idempotency_key

NOW = 1_800_000_000
REFUSAL = (
    "the stock of 'S' at 'WH1' is its labels: "
    "write the labels (PUT /labels/{label}, label.upsert), not onHand"
)


@pytest.fixture
def store(moto_client: Any, moto_table: str) -> Store:
    store = Store(moto_client, moto_table)
    store.labels.write(None, Label("L-1", "S", "WH1", 2, NOW, NOW), NOW, token="t0")
    return store


def _plain(store: Store) -> None:
    store.stock.set_on_hand("S", "WH1", 5, NOW)


def _compare_and_set(store: Store) -> None:
    store.stock.set_on_hand("S", "WH1", 5, NOW, expected_version=1)


def _in_sequence(store: Store) -> None:
    store.stock.set_on_hand_in_sequence("S", "WH1", 5, 7, NOW)


def _adjust(store: Store) -> None:
    store.stock.adjust_on_hand(Receipt("adjust", "a1", "fp"), "S", "WH1", 3, NOW, token="t1")


def _with_a_key(store: Store) -> None:
    before = store.stock.get_level("S", "WH1")
    assert before is not None
    after = replace(before, on_hand=5, available=5, updated_at=NOW, version=before.version + 1)
    key = {"Put": {"TableName": store.name, "Item": idempotency_key("web", "k-1")}}
    store.stock.set_on_hand_with(before, after, key, token="t1")


@pytest.mark.parametrize(
    "write",
    [_plain, _compare_and_set, _in_sequence, _adjust, _with_a_key],
    ids=lambda w: w.__name__,
)
def test_every_counted_write_of_a_serialized_record_is_refused_by_name(
    store: Store, write: Callable[[Store], None]
) -> None:
    with pytest.raises(StockSerialized) as refused:
        write(store)
    assert str(refused.value) == REFUSAL
    level = store.stock.get_level("S", "WH1")
    assert level is not None and (level.on_hand, level.available) == (2, 2)


def test_allocation_reads_nothing_available_on_a_serialized_record(store: Store) -> None:
    store.stock.set_on_hand("C", "WH1", 4, NOW)
    counts = store.stock.get_counts([("S", "WH1"), ("C", "WH1")])
    assert counts == {("S", "WH1"): (0, 0), ("C", "WH1"): (4, 0)}
