"""Where a line refused on a sharded record goes next, without an engine
(docs/architecture.md, "Sharded stock"): to a bucket the environment believes has enough,
other than the one that refused it; else where make_room moved units; and when a record's
total does not cover its line, the refusal lists every such line, with what is held."""

from __future__ import annotations

from typing import Any, cast

import pytest

from reservations.errors import ShortItem
from reservations.records import Line
from reservations.store.bucket_reads import Bucket, Snapshot
from reservations.store.placement import Placement
from reservations.store.refusals import StockShort
from reservations.store.shards import ShardStore


class Rooms:
    """A ShardStore's make_room and snapshot, answering each sku's ``after``; the calls."""

    def __init__(self, **after: Snapshot) -> None:
        self.after = after
        self.calls: list[tuple[str, str]] = []

    def make_room(self, sku: str, *_: Any, **__: Any) -> Snapshot:
        self.calls.append(("make_room", sku))
        return self.after[sku]

    def snapshot(self, sku: str, *_: Any, **__: Any) -> Snapshot:
        self.calls.append(("snapshot", sku))
        return self.after[sku]


def buckets(sku: str, *available: int, reserved: int = 0) -> Snapshot:
    made = [Bucket(a, reserved if b == 0 else 0, exists=True) for b, a in enumerate(available)]
    return Snapshot(sku, "WH1", len(available), tuple(made))


def item(sku: str, available: int, **more: Any) -> dict[str, Any]:
    return {"sku": {"S": sku}, "location": {"S": "WH1"}, "available": {"N": str(available)}} | more


def knowing(rooms: Rooms, sku: str, *available: int) -> Placement:
    """A placement that has read ``sku``'s record and each of its buckets."""
    places = Placement(cast(ShardStore, rooms))
    count = {"N": str(len(available))}
    places.learn(item(sku, available[0], shards=count, bucketsEver=count))
    for bucket, units in enumerate(available[1:], start=1):
        places.learn(item(sku, units, entity={"S": "shard"}, bucket={"N": str(bucket)}))
    return places


def line(sku: str, quantity: int, bucket: int = 1) -> Line:
    return Line(sku, "WH1", quantity, bucket=bucket)


def short(*lines: Line, held: dict[tuple[str, str], int] | None = None) -> StockShort:
    return StockShort([ShortItem(x.sku, x.location, x.quantity, 0) for x in lines], held or {})


def test_a_line_goes_to_a_bucket_believed_to_have_enough() -> None:
    rooms = Rooms()
    places = knowing(rooms, "A", 1, 1, 5, 1)
    [placed] = places.replace_short([line("A", 3)], short(line("A", 3)), 0)
    assert (placed.bucket, placed.placed) == (2, True)
    assert rooms.calls == []


def test_the_bucket_that_refused_a_line_is_not_chosen_again() -> None:
    rooms = Rooms(A=buckets("A", 0, 0, 0, 4))
    places = knowing(rooms, "A", 1, 1, 5, 1)  # no item came with the refusal of bucket 2
    [placed] = places.replace_short([line("A", 3, bucket=2)], short(line("A", 3, 2)), 0)
    assert placed.bucket == 3
    assert rooms.calls == [("make_room", "A")]


def test_a_line_no_bucket_covers_goes_where_units_were_moved() -> None:
    rooms = Rooms(A=buckets("A", 0, 0, 4, 0))
    places = knowing(rooms, "A", 1, 1, 1, 1)
    [placed] = places.replace_short([line("A", 3)], short(line("A", 3)), 0)
    assert (placed.bucket, placed.placed) == (2, True)
    assert rooms.calls == [("make_room", "A")]


def test_a_refusal_lists_every_line_its_total_does_not_cover_on_one_snapshot_each() -> None:
    rooms = Rooms(A=buckets("A", 1, 0, 1, 0, reserved=2), B=buckets("B", 0, 1, reserved=1))
    places = knowing(rooms, "A", 1, 1, 1, 1)
    places.learn(item("B", 1, shards={"N": "2"}, bucketsEver={"N": "2"}))
    lines = [line("A", 3), line("B", 2)]
    with pytest.raises(StockShort) as refused:
        places.replace_short(lines, short(*lines), 0)
    assert [(i.sku, i.requested, i.available) for i in refused.value.items] == [
        ("A", 3, 2),
        ("B", 2, 1),
    ]
    assert refused.value.held == {("A", "WH1"): 2, ("B", "WH1"): 1}
    assert rooms.calls == [("make_room", "A"), ("make_room", "B")]


def test_a_line_moved_while_another_is_short_is_checked_against_its_total() -> None:
    # B's bucket 1 seemed to have enough: it was moved there, then the reserve was refused
    # for A, and B's total is read to tell whether B is short too.
    rooms = Rooms(A=buckets("A", 1, 0), B=buckets("B", 0, 1, reserved=3))
    places = knowing(rooms, "A", 1, 0)
    places.learn(item("B", 0, shards={"N": "2"}, bucketsEver={"N": "2"}))
    lines = [line("A", 2), line("B", 2, bucket=0)]
    with pytest.raises(StockShort) as refused:
        places.replace_short(lines, short(*lines), 0)
    assert [(i.sku, i.available) for i in refused.value.items] == [("A", 1), ("B", 1)]
    assert refused.value.held == {("B", "WH1"): 3}
    assert rooms.calls == [("make_room", "A"), ("snapshot", "B")]


def test_lines_of_unsharded_records_are_refused_with_what_is_held_on_each() -> None:
    places = Placement(cast(ShardStore, Rooms()))
    lines = [line("A", 2, 0), line("B", 2, 0)]
    held = {("A", "WH1"): 1, ("B", "WH1"): 4}
    with pytest.raises(StockShort) as refused:
        places.replace_short(lines, short(*lines, held=held), 0)
    assert refused.value.held == held
