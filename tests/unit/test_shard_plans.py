"""How a move is planned, and when a record is read to learn it is sharded, without an
engine (docs/architecture.md, "Sharded stock"): ``_gathered`` folds closed and retired
buckets and debt into the record and fills one bucket; ``Placement.discover`` reads a busy
record once, and an unsharded one not again for UNSHARDED_SECONDS."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any, cast

import pytest

from reservations.records import LabelHold, Line
from reservations.store import placement as placement_module
from reservations.store.bucket_reads import Bucket, Snapshot
from reservations.store.placement import UNSHARDED_SECONDS, Placement
from reservations.store.shards import ShardStore, _gathered


def seen(shards: int, *buckets: int | tuple[int, str]) -> Snapshot:
    """Buckets by available; ``(n, "closed")`` for a closed one."""
    made = [
        Bucket(available=b[0], closed=True, exists=True)
        if isinstance(b, tuple)
        else Bucket(available=b, exists=True)
        for b in buckets
    ]
    return Snapshot("A", "WH1", shards, tuple(made))


@pytest.mark.parametrize(
    ("snapshot", "quantity", "target", "plan"),
    [
        # An open bucket has it, nothing to fold: no move.
        (seen(3, 0, 3, 1), 2, None, None),
        (seen(3, 0, 2, 1), 2, None, None),  # exactly the quantity is enough
        (seen(3, 0, 3, 3), 2, None, None),  # the record at zero is not in debt
        # The named bucket lacks it, though another has it: filled from the fullest.
        (seen(3, 0, 5, 1), 2, 2, [0, 4, 2]),
        # Nobody has it alone: the fullest active bucket is filled.
        (seen(3, 1, 1, 1), 2, None, [2, 0, 1]),
        # A retired bucket (beyond shards, open) is folded into the record, even when an
        # active bucket has enough; so is the first retired one, at index == shards.
        (seen(2, 1, 1, 3), 1, None, [4, 1, 0]),
        # The record closed with units (a write paid its debt): the move reopens it, and
        # its units stay in it.
        (seen(4, (5, "closed"), *[(0, "closed")] * 3), 2, None, [5, 0, 0, 0]),
        # Debt is paid from the fullest open bucket first, and only as much as it owes.
        (seen(3, -3, 1, 5), 1, None, [0, 1, 2]),
        (seen(3, -2, 5, 0), 2, None, [0, 3, 0]),
        # Filled from the fullest other bucket first.
        (seen(4, 0, 1, 3, 2), 4, None, [0, 1, 4, 1]),
    ],
)
def test_a_move_is_planned(
    snapshot: Snapshot, quantity: int, target: int | None, plan: list[int] | None
) -> None:
    assert _gathered(snapshot, quantity, target) == plan
    if plan is not None:  # a move neither makes nor loses a unit
        assert sum(plan) == snapshot.available


class Peeks:
    """A ShardStore's peek: each record read, and the item each read finds."""

    def __init__(self, sharded: set[str]) -> None:
        self.sharded = sharded
        self.read: list[str] = []

    def peek(self, sku: str, location: str) -> dict[str, Any]:
        self.read.append(sku)
        item = {"sku": {"S": sku}, "location": {"S": location}, "available": {"N": "4"}}
        if sku in self.sharded:
            item |= {"shards": {"N": "2"}, "bucketsEver": {"N": "2"}}
        return item


def line(sku: str, quantity: int = 1, **fields: Any) -> Line:
    return Line(sku, "WH1", quantity, **fields)


def placement(peeks: Peeks, clock: list[float]) -> Placement:
    return Placement(cast(ShardStore, peeks), clock=lambda: clock[0])


def test_each_busy_record_is_read_once_and_a_sharded_one_is_learned() -> None:
    peeks, clock = Peeks({"B", "C"}), [0.0]
    places = placement(peeks, clock)
    assert places.discover([line("A")]) is False
    assert places.discover([line("A"), line("B"), line("C")]) is True
    assert peeks.read == ["A", "B", "C"]  # A is not read again at once
    assert places.sharded([line("B")]) and places.sharded([line("C")])
    assert places.discover([line("B"), line("C")]) is False  # known: no read
    assert peeks.read == ["A", "B", "C"]


def test_placed_lines_and_label_lines_are_not_read() -> None:
    peeks, clock = Peeks({"A"}), [0.0]
    places = placement(peeks, clock)
    labels = (LabelHold("L1", 1),)
    assert places.discover([line("A", placed=True), line("A", labels=labels), line("B")]) is False
    assert peeks.read == ["B"]


def test_an_unsharded_record_is_read_again_after_unsharded_seconds() -> None:
    peeks, clock = Peeks(set()), [0.0]
    places = placement(peeks, clock)
    places.discover([line("A")])
    clock[0] = UNSHARDED_SECONDS - 0.001
    places.discover([line("A"), line("B")])  # A is skipped, B still read
    assert peeks.read == ["A", "B"]
    clock[0] = UNSHARDED_SECONDS
    places.discover([line("A")])
    assert peeks.read == ["A", "B", "A"]


def test_it_forgets_the_oldest_unsharded_record_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(placement_module, "KNOWN_RECORDS", 2)
    peeks, clock = Peeks(set()), [0.0]
    places = placement(peeks, clock)
    places.discover([line("A"), line("B"), line("C")])
    places.discover([line("B"), line("C")])  # the two newest are remembered
    places.discover([line("A")])  # the oldest was forgotten
    assert peeks.read == ["A", "B", "C", "A"]


def record_item(shards: int) -> dict[str, Any]:
    """A's stock record as a read shows it, with 1 available in the record."""
    item = {"sku": {"S": "A"}, "location": {"S": "WH1"}, "available": {"N": "1"}}
    return item | {"shards": {"N": str(shards)}, "bucketsEver": {"N": str(shards)}}


def test_a_line_sent_elsewhere_leaves_its_busy_bucket() -> None:
    places = Placement(cast(ShardStore, None), rng=random.Random(7))
    places.learn({**record_item(4), "available": {"N": "5"}})
    for _ in range(8):  # whichever bucket is home, a line there moves on
        [home] = places.place([line("A")])
        [moved] = places.place([replace(home, placed=False)], elsewhere=True)
        assert moved.bucket != home.bucket and moved.placed


def test_what_a_read_shows_of_each_bucket_steers_lines() -> None:
    places = Placement(cast(ShardStore, None), rng=random.Random(7))
    places.learn(record_item(3))  # the record has 1; buckets 1 and 2 unseen
    closed = {"entity": {"S": "shard"}, "closed": {"BOOL": True}}
    places.learn({**record_item(1), **closed, "bucket": {"N": "2"}, "available": {"N": "5"}})
    places.learn({**record_item(1), "entity": {"S": "shard"}, "bucket": {"N": "1"}})
    assert places.place([line("A", 3)])[0].bucket == 0  # none open has 3: the record
    places.learn(
        {**record_item(1), "entity": {"S": "shard"}, "bucket": {"N": "2"}, "available": {"N": "5"}}
    )
    assert places.place([line("A", 3)])[0].bucket == 2  # open again
    places.learn({**record_item(1), "shards": {"N": "1"}})  # gathered back, never resharded
    assert not places.sharded([line("A")])


def test_a_record_without_a_count_has_one_active_bucket() -> None:
    item = record_item(4)
    del item["shards"]  # gathered back into the record: its buckets are retired
    chosen = set()
    for seed in range(8):
        places = Placement(cast(ShardStore, None), rng=random.Random(seed))
        places.learn({**item, "available": {"N": "9"}})
        chosen.add(places.place([line("A", 3)])[0].bucket)
    assert chosen == {0}


@pytest.mark.parametrize(
    ("snapshot", "shards", "shares"),
    [
        (seen(4, 2, 2, 2, 3), 4, [3, 2, 2, 2]),
        (seen(4, 9, 0, 0, 0), 2, [5, 4, 0, 0]),  # the buckets beyond get none
        (seen(2, (-3, "closed"), (0, "closed")), 4, [-3, 0, 0, 0]),  # debt stays in the record
        (seen(4, (-3, "closed"), *[(0, "closed")] * 3), 2, [-3, 0, 0, 0]),
    ],
)
def test_even_shares(snapshot: Snapshot, shards: int, shares: list[int]) -> None:
    assert snapshot.even(shards) == shares


def test_it_forgets_the_oldest_sharded_record_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(placement_module, "KNOWN_RECORDS", 2)
    places = Placement(cast(ShardStore, None))
    for sku in ("A", "B", "C"):
        places.learn({**record_item(4), "sku": {"S": sku}})
    known = [places.sharded([line(sku)]) for sku in ("A", "B", "C")]
    assert known == [False, True, True]
