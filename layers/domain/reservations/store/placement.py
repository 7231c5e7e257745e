"""Which bucket of a sharded stock record a line takes from (docs/architecture.md,
"Sharded stock").

Each execution environment remembers what it last saw of each sharded record: its bucket
count and each bucket's available, from refusals and snapshots, never from a read of its
own on the reserve's path. A line goes to the environment's bucket, drawn at random among
those it believes have enough and kept until it conflicts or runs short; a refusal corrects
the view and the line goes elsewhere; only when no bucket seems to have enough does a
snapshot decide between moving units and refusing.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import ShortItem
from ..records import Line
from .bucket_reads import Snapshot
from .keys import Entity, entity_of
from .refusals import StockShort
from .shards import ShardStore

Key = tuple[str, str]
KNOWN_RECORDS = 4096  # sharded records an environment remembers
# A record read after a conflict and found unsharded is not read again for this long: on a
# hot unsharded record most attempts conflict, and each read would cost a request.
UNSHARDED_SECONDS = 5.0


@dataclass(slots=True)
class View:
    shards: int = 1
    available: dict[int, int] = field(default_factory=dict)  # unseen buckets: maybe enough
    closed: set[int] = field(default_factory=set)
    home: int | None = None  # where this environment's lines go while it has enough


def placeable(line: Line) -> bool:
    """Lines on labels take their labels' record whole: never a bucket. An oversell line
    on a sharded record is placed like any other, and oversells nothing there."""
    return not line.labels


class Placement:
    def __init__(
        self,
        shards: ShardStore,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._shards = shards
        self._rng = rng or random.Random()
        self._clock = clock
        self._views: OrderedDict[Key, View] = OrderedDict()
        self._unsharded: OrderedDict[Key, float] = OrderedDict()  # key -> when it was read

    def place(self, lines: Sequence[Line], *, elsewhere: bool = False) -> tuple[Line, ...]:
        """Each line on a bucket this environment believes has enough (0, the record, for
        a record it has never seen sharded); ``elsewhere``: on another bucket than its own,
        where one seems to have enough (its own was busy)."""
        return tuple(self._placed(line, elsewhere) for line in lines)

    def sharded(self, lines: Sequence[Line]) -> bool:
        """Whether any of these lines goes to a record this environment knows is sharded."""
        return any(placeable(line) and (line.sku, line.location) in self._views for line in lines)

    def discover(self, lines: Sequence[Line]) -> bool:
        """After a conflict on lines placed without knowing their records: read each such
        record once (a conflict says it is busy, and a busy record may be sharded, which
        only its refusals would tell otherwise). True when one of them is."""
        found = False
        now = self._clock()
        for line in lines:
            key = (line.sku, line.location)
            if not placeable(line) or line.placed or key in self._views:
                continue
            if now - self._unsharded.get(key, -UNSHARDED_SECONDS) < UNSHARDED_SECONDS:
                continue
            item = self._shards.peek(line.sku, line.location)
            if item is not None:
                self.learn(item)
            if key in self._views:
                found = True
                continue
            self._unsharded[key] = now
            self._unsharded.move_to_end(key)
            if len(self._unsharded) > KNOWN_RECORDS:
                self._unsharded.popitem(last=False)
        return found

    def replace_short(self, lines: Sequence[Line], short: StockShort, now: int) -> tuple[Line, ...]:
        """The lines again, each one refused on a sharded record moved to another bucket
        (units moved into one first when none has enough). Raises StockShort, with the
        totals, for the lines whose record does not have enough in all."""
        placed = list(lines)
        short_keys = {(item.sku, item.location) for item in short.items}
        items: dict[int, ShortItem] = {}  # by line, so the refusal lists them in order
        held: dict[Key, int] = {}
        moved: list[int] = []  # lines sent to another bucket, not known short
        for index, line in enumerate(lines):
            key = (line.sku, line.location)
            if key not in short_keys:
                continue
            found = short.found.get(key)
            if found is not None:
                self.learn(found)
            if not placeable(line) or key not in self._views:
                items[index] = next(i for i in short.items if (i.sku, i.location) == key)
                held |= {key: short.held[key]} if key in short.held else {}
                continue
            bucket = self._choose(key, line.quantity, avoid=line.bucket)
            if bucket is None:
                seen = self._shards.make_room(line.sku, line.location, line.quantity, now)
                if self._short(line, seen, index, items, held):
                    continue
                bucket = self._choose(key, line.quantity)
            placed[index] = replace(line, bucket=0 if bucket is None else bucket, placed=True)
            moved.append(index)
        if items:
            # The reserve is refused: it says so of every line the totals do not cover.
            for index in moved:
                line = lines[index]
                self._short(
                    line, self._shards.snapshot(line.sku, line.location), index, items, held
                )
            raise StockShort([items[index] for index in sorted(items)], held)
        return tuple(placed)

    def _short(
        self,
        line: Line,
        seen: Snapshot,
        index: int,
        items: dict[int, ShortItem],
        held: dict[Key, int],
    ) -> bool:
        """Learn the snapshot; whether its total leaves ``line`` short (noted in ``items``)."""
        self._learn_snapshot(seen)
        if seen.available >= line.quantity:
            return False
        items[index] = ShortItem(line.sku, line.location, line.quantity, seen.available)
        if seen.reserved:
            held[(line.sku, line.location)] = seen.reserved
        return True

    def learn(self, item: Mapping[str, Any]) -> None:
        """What a refusal or a read showed of a stock record or one of its buckets."""
        key = (item["sku"]["S"], item["location"]["S"])
        available = int(item.get("available", {}).get("N", 0))
        if entity_of(item) is Entity.SHARD:
            view = self._views.get(key)
            if view is not None:
                bucket = int(item["bucket"]["N"])
                view.available[bucket] = available
                (view.closed.add if "closed" in item else view.closed.discard)(bucket)
            return
        if int(item.get("bucketsEver", {}).get("N", 1)) <= 1:
            self._views.pop(key, None)  # never sharded: the record alone
            return
        view = self._views.setdefault(key, View())
        view.shards = int(item.get("shards", {}).get("N", 1))
        view.available[0] = available
        self._views.move_to_end(key)
        if len(self._views) > KNOWN_RECORDS:
            self._views.popitem(last=False)

    def _learn_snapshot(self, seen: Snapshot) -> None:
        view = self._views.setdefault((seen.sku, seen.location), View())
        view.shards = seen.shards
        view.available = {b: bucket.available for b, bucket in enumerate(seen.buckets)}
        view.closed = {b for b, bucket in enumerate(seen.buckets) if bucket.closed}

    def _placed(self, line: Line, elsewhere: bool = False) -> Line:
        key = (line.sku, line.location)
        if not placeable(line) or key not in self._views:
            return line
        bucket = self._choose(key, line.quantity, avoid=line.bucket if elsewhere else None)
        if bucket is None and elsewhere:
            return line
        return replace(line, bucket=0 if bucket is None else bucket, placed=True)

    def _choose(self, key: Key, quantity: int, avoid: int | None = None) -> int | None:
        view = self._views[key]
        candidates = [
            bucket
            for bucket in range(view.shards)
            if bucket != avoid
            and bucket not in view.closed
            and view.available.get(bucket, quantity) >= quantity
        ]
        # Stay on one bucket until it conflicts or runs short: environments that collided
        # scatter, and the rest keep out of each other's way, where a fresh draw per line
        # would collide as often as the first time.
        if avoid is None and view.home in candidates:
            return view.home
        view.home = self._rng.choice(candidates) if candidates else None
        return view.home
