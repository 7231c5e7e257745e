"""The alerts item of a sharded stock record (moto): a crossing is recorded once, told
under the id it was recorded with, and cleared only by the evaluation that saw it."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.clock import ManualClock
from reservations.commands import SetThreshold
from reservations.events.derive import STOCK_LOW, STOCK_NEGATIVE
from reservations.events.sharded_totals import ShardedTotals
from reservations.records import StockLevel
from reservations.store import Store
from reservations.store.retry import RetryPolicy
from reservations.store.stock_alerts import SEEDED, Marker, StockAlerts
from tests.conftest import make_service
from tests.support.sharding import SHARDED_AT as NOW
from tests.support.sharding import reserve


def test_a_crossing_is_recorded_once_and_cleared_by_its_own_id(
    moto_client: Any, moto_table: str
) -> None:
    alerts = StockAlerts(moto_client, moto_table)
    assert alerts.read("A", "WH1") == {}
    assert alerts.mark("A", "WH1", "low", "first")
    assert not alerts.mark("A", "WH1", "low", "second")  # another batch's: refused
    assert alerts.mark("A", "WH1", "negative", "third")  # thresholds are apart
    assert alerts.read("A", "WH1") == {
        "low": Marker("first", told=False),
        "negative": Marker("third", told=False),
    }
    assert not alerts.told("A", "WH1", "low", "second")
    assert alerts.told("A", "WH1", "low", "first")
    assert alerts.read("A", "WH1")["low"] == Marker("first", told=True)
    assert not alerts.clear("A", "WH1", "low", "second")
    assert alerts.clear("A", "WH1", "low", "first")
    assert alerts.read("A", "WH1") == {"negative": Marker("third", told=False)}
    assert alerts.read("A", "WH2") == {}


def level(available: int, threshold: int | None = 5) -> StockLevel:
    return StockLevel("A", "WH1", 10, 10 - available, available, 1, low_stock_threshold=threshold)


KEY = ("A", "WH1")


def test_totals_tell_each_crossing_until_it_is_out(moto_client: Any, moto_table: str) -> None:
    now: list[StockLevel] = []
    totals = ShardedTotals(lambda sku, location: now[-1], StockAlerts(moto_client, moto_table))

    def crossings(total: StockLevel, stream_id: str, at: int) -> list[Any]:
        now.append(total)
        return totals.crossings(KEY, stream_id, at)

    assert crossings(level(6), "s1", 100) == []
    [low] = crossings(level(4), "s2", 100)
    assert (low.detail_type, low.detail["available"], low.time) == (STOCK_LOW, 4, 100)
    # Not told yet: the next evaluation (a redelivery, another batch) tells it again.
    [again] = crossings(level(3), "s3", 101)
    assert again.id == low.id and again.detail["available"] == 3
    totals.told(low)
    assert crossings(level(2), "s4", 102) == []
    [negative] = crossings(level(-1), "s5", 103)
    assert negative.detail_type == STOCK_NEGATIVE
    totals.told(negative)
    assert crossings(level(9), "s6", 104) == []  # above both, and told: cleared
    [next_low] = crossings(level(4), "s7", 105)
    assert next_low.id not in (low.id, again.id)
    totals.told(next_low)
    assert crossings(level(4, threshold=None), "s8", 106) == []  # no threshold: cleared


def test_a_crossing_not_told_before_the_total_recovered_is_still_told(
    moto_client: Any, moto_table: str
) -> None:
    now: list[StockLevel] = []
    totals = ShardedTotals(lambda sku, location: now[-1], StockAlerts(moto_client, moto_table))
    now.append(level(4))
    [low] = totals.crossings(KEY, "s1", 100)  # recorded; its publishing failed
    now.append(level(8))
    [late] = totals.crossings(KEY, "s2", 101)
    assert (late.id, late.detail_type) == (low.id, STOCK_LOW)
    totals.told(late)
    assert totals.crossings(KEY, "s3", 102) == []  # told, and above: cleared now
    now.append(level(3))
    [fresh] = totals.crossings(KEY, "s4", 103)
    assert fresh.id != low.id


def first_reshard(client: Any, table: str, on_hand: int, held: int) -> dict[str, Marker]:
    """A's markers after its first reshard, with a threshold of 5 and ``on_hand - held``
    available."""
    store = Store(client, table)
    store.stock.set_on_hand("A", "WH1", max(on_hand, held), NOW, threshold=SetThreshold(5))
    if held:
        service = make_service(client, table, ManualClock(NOW), RetryPolicy(base_delay=0))
        reserve(service, "r1", held)
        store.stock.set_on_hand("A", "WH1", on_hand, NOW)
    store.shards.reshard("A", "WH1", 4, NOW)
    return StockAlerts(client, table).read("A", "WH1")


@pytest.mark.parametrize(
    ("on_hand", "held", "markers"),
    [
        (5, 0, {}),  # at the threshold: not below it
        (4, 0, {"low"}),
        (0, 0, {"low"}),  # at zero: not negative
        (2, 5, {"low", "negative"}),
    ],
)
def test_a_first_reshard_records_the_crossings_its_record_told_already(
    moto_client: Any, moto_table: str, on_hand: int, held: int, markers: set[str]
) -> None:
    found = first_reshard(moto_client, moto_table, on_hand, held)
    assert found == {name: Marker(SEEDED, told=True) for name in markers}


def test_a_later_reshard_keeps_the_crossings_recorded_since(
    moto_client: Any, moto_table: str
) -> None:
    store = Store(moto_client, moto_table)
    store.stock.set_on_hand("A", "WH1", 8, NOW, threshold=SetThreshold(5))
    store.shards.reshard("A", "WH1", 2, NOW)
    alerts = StockAlerts(moto_client, moto_table)
    assert alerts.mark("A", "WH1", "low", "e1")
    store.shards.reshard("A", "WH1", 4, NOW)
    assert alerts.read("A", "WH1") == {"low": Marker("e1", told=False)}
