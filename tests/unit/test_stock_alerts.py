"""The alerts item of a sharded stock record (moto): a crossing is recorded once, told
under the id it was recorded with, and cleared only by the evaluation that saw it."""

from __future__ import annotations

from typing import Any

from reservations.events.derive import STOCK_LOW, STOCK_NEGATIVE
from reservations.events.sharded_totals import ShardedTotals
from reservations.records import StockLevel
from reservations.store.stock_alerts import Marker, StockAlerts


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


def test_totals_tell_each_crossing_until_it_is_out(moto_client: Any, moto_table: str) -> None:
    totals = ShardedTotals(lambda sku, location: None, StockAlerts(moto_client, moto_table))
    assert totals.crossings(level(6), "s1", 100) == []
    [low] = totals.crossings(level(4), "s2", 100)
    assert (low.detail_type, low.detail["available"], low.time) == (STOCK_LOW, 4, 100)
    # Not told yet: the next evaluation (a redelivery, another batch) tells it again.
    [again] = totals.crossings(level(3), "s3", 101)
    assert again.id == low.id and again.detail["available"] == 3
    totals.told(low)
    assert totals.crossings(level(2), "s4", 102) == []
    kinds = [e.detail_type for e in totals.crossings(level(-1), "s5", 103)]
    assert kinds == [STOCK_NEGATIVE]
    assert totals.crossings(level(9), "s6", 104) == []  # above both: cleared
    [next_low] = totals.crossings(level(4), "s7", 105)
    assert next_low.id not in (low.id, again.id)
    assert totals.crossings(level(4, threshold=None), "s8", 106) == []
