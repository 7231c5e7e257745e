"""Equivalent mutants of the sharded-stock modules (issue 17), with their reasons."""

from __future__ import annotations

from .equivalence import CASE, CONSISTENT, FALSY, Equivalent, same_line

_TAKES_NOTHING = (
    "at {} 0 the added condition asks available >= 0 or a closed record: every sharded "
    "record meets one of them (invariant 9)"
)
_TOTALLED = "seen = self.shards.snapshot(level.sku, level.location, exact=False)  # shown only"
_SPREAD = "self.shards.spread(level.sku, level.location, spread_at, seen)"
_MOVE = "self._move(seen, wanted, seen.shards, now, reshard=False)"
_GATHER = "self._move(seen, wanted, seen.shards, now, reshard=False, close=debt_ahead)"
_ZIP_PLAN = "replace(b, available=w) for b, w in zip(seen.buckets, wanted, strict=True)"
_AVAILABLE = 'available = int(item.get("available", {}).get("N", 0))'
_BUCKET_AVAILABLE = 'available=int(item.get("available", {}).get("N", 0)),'
_RESERVED = 'reserved=int(item.get("reserved", {}).get("N", 0)),'
_PLACED = "placed[index] = replace(line, bucket=0 if bucket is None else bucket, placed=True)"
_GIVES = 'if gives > 0 and int(old.get("available", {}).get("N", 0)) < gives:'
_VIEW = "view = self._views.setdefault((seen.sku, seen.location), View())"
ALWAYS_AVAILABLE = "defaults for an item without available: every stock record and bucket has it"
MOVE_SHARDS = "a move's shards is read only by a reshard, which passes its own"
ONE_PER_BUCKET = (
    "a plan has one entry per bucket of its snapshot: strict never has anything to catch"
)

SHARDED: tuple[Equivalent, ...] = (
    # store.shards: a move that is not a reshard
    *[
        Equivalent("store.shards", function, line, line.replace(old, new), reason)
        for function, line in (
            ("ShardStore.make_room", _MOVE),
            ("ShardStore.spread", _MOVE),
            ("ShardStore.gather", _GATHER),
        )
        for old, new, reason in (
            ("seen.shards", "None", MOVE_SHARDS),
            ("reshard=False", "reshard=None", FALSY),
        )
    ],
    *same_line(
        "store.shards",
        "ShardStore.make_room",
        _ZIP_PLAN,
        [
            _ZIP_PLAN.replace("True", "None"),
            _ZIP_PLAN.replace("True", "False"),
            _ZIP_PLAN.replace("strict=True", ""),
        ],
        ONE_PER_BUCKET,
    ),
    *same_line(
        "store.shards",
        "_gathered",
        "if available[0] >= 0:",
        ["if available[0] > 0:", "if available[0] >= 1:"],
        "at zero the loop goes on, and each later donor gives min(its units, 0): nothing",
    ),
    # store.placement
    *same_line(
        "store.placement",
        "Placement._learn_snapshot",
        _VIEW,
        [_VIEW.replace("View()", "None"), _VIEW.replace(", View()", ", ")],
        "replace_short learns snapshots only of records it has a view of: the default "
        "is never taken",
    ),
    *[
        Equivalent("store.placement", function, line, line.replace("False", "None"), FALSY)
        for function, line in (
            ("Placement.discover", "self._unsharded.popitem(last=False)"),
            ("Placement.learn", "self._views.popitem(last=False)"),
        )
    ],
    *same_line(
        "store.placement",
        "Placement.learn",
        _AVAILABLE,
        [
            _AVAILABLE.replace('"N", 0', '"N", None'),
            _AVAILABLE.replace('"N", 0', '"N", 1'),
            _AVAILABLE.replace('"N", 0', '"N", '),
            _AVAILABLE.replace("{}", "None"),
            _AVAILABLE.replace(", {}", ", "),
        ],
        ALWAYS_AVAILABLE,
    ),
    *same_line(
        "store.placement",
        "Placement.replace_short",
        _PLACED,
        [
            _PLACED.replace("bucket is None", "(bucket is None) and False"),
            _PLACED.replace("0 if", "1 if"),
        ],
        "a bucket is always chosen here: make_room leaves one with the quantity, or the "
        "line was found short",
    ),
    Equivalent(
        "store.shards",
        "_gathered",
        "if missing <= 0:",
        "if missing < 0:",
        "at zero the loop goes on, and each later bucket gives min(its units, 0): nothing",
    ),
    Equivalent(
        "store.shards",
        "ShardStore.spread",
        "seen = seen or self.snapshot(sku, location, exact=False)",
        "seen = seen or self.snapshot(sku, location, exact=None)",
        FALSY,
    ),
    # store.bucket_reads
    *same_line(
        "store.bucket_reads",
        "Snapshot.even",
        "if total < 0:",
        ["if total <= 0:", "if total < 1:"],
        "at zero both branches give every bucket 0",
    ),
    Equivalent(
        "store.shards",
        "ShardStore._move",
        "transact(self._client, [*items, *also], uuid.uuid4().hex)",
        "transact(self._client, [*items, *also], None)",
        "botocore fills a None ClientRequestToken with a fresh UUID, as this one is",
    ),
    Equivalent(
        "store.shards",
        "ShardStore._move",
        "if reshard or wanted[0] != seen.buckets[0].available or debt != seen.buckets[0].closed:",
        "if reshard or wanted[0] != seen.buckets[0].available or debt != seen.buckets[1].closed:",
        "bucket 1 is closed only with the record or when retired, and a move beside retired "
        "buckets folds their units into the record, which it updates anyway",
    ),
    Equivalent(
        "store.shards",
        "ShardStore._record_update",
        'update["ExpressionAttributeValues"][":closed"] = {"BOOL": True}',
        'update["ExpressionAttributeValues"][":closed"] = {"BOOL": False}',
        "the flag is its presence: every reader and condition asks whether closed exists",
    ),
    Equivalent(
        "store.shards",
        "ShardStore._record_update",
        'update["ConditionExpression"] += " AND available >= :floor"',
        'update["ConditionExpression"] += " and available >= :floor"',
        CASE,
    ),
    Equivalent(
        "store.shards",
        "ShardStore._bucket_update",
        'update["ExpressionAttributeValues"][":closed"] = {"BOOL": True}',
        'update["ExpressionAttributeValues"][":closed"] = {"BOOL": False}',
        "the flag is its presence: every reader and condition asks whether closed exists",
    ),
    *[
        Equivalent("store.shards", function, before, before.replace(old, new), CASE)
        for function, before, old, new in (
            (
                "ShardStore._bucket_update",
                'update["UpdateExpression"] += " REMOVE #closed"',
                "REMOVE",
                "remove",
            ),
            (
                "ShardStore._bucket_update",
                '"SET available = if_not_exists(available, :zero) + :delta, "',
                "SET",
                "set",
            ),
            (
                "ShardStore._record_update",
                'update["ConditionExpression"] += " AND #version = :version"',
                "AND",
                "and",
            ),
            (
                "ShardStore._record_update",
                'update["ConditionExpression"] += " AND attribute_not_exists(#version)"',
                "AND",
                "and",
            ),
            (
                "_closing",
                'removal = " REMOVE #closed" if " REMOVE " not in update["UpdateExpression"] '
                'else ", #closed"',
                '" REMOVE #closed"',
                '" remove #closed"',
            ),
        )
    ],
    Equivalent(
        "store.shards",
        "ShardStore._record_update",
        "if shards > 1:",
        "if shards >= 1:",
        "a count of 1 written reads as the count absent: every reader defaults it to 1",
    ),
    *same_line(
        "store.bucket_reads",
        "bucket_from_item",
        _BUCKET_AVAILABLE,
        [
            _BUCKET_AVAILABLE.replace('"N", 0', '"N", None'),
            _BUCKET_AVAILABLE.replace('"N", 0', '"N", 1'),
            _BUCKET_AVAILABLE.replace('"N", 0', '"N", '),
            _BUCKET_AVAILABLE.replace("{}", "None"),
            _BUCKET_AVAILABLE.replace(", {}", ", "),
        ],
        ALWAYS_AVAILABLE,
    ),
    Equivalent(
        "store.shards",
        "ShardStore.reshard",
        'raise LookupError(f"no stock record for {sku!r} at {location!r}")',
        "raise LookupError(None)",
        "its one caller, Sharding, answers NotFound with a message of its own",
    ),
    Equivalent(
        "store.bucket_reads",
        "BucketReads.snapshot",
        "TableName=self._name, Key=stock_key(sku, location), ConsistentRead=True",
        "TableName=self._name, Key=stock_key(sku, location), ConsistentRead=None",
        CONSISTENT,
    ),
    Equivalent(
        "store.bucket_reads",
        "BucketReads.snapshot",
        "TableName=self._name, Key=stock_key(sku, location), ConsistentRead=True",
        "TableName=self._name, Key=stock_key(sku, location), ConsistentRead=False",
        CONSISTENT,
    ),
    Equivalent(
        "store.bucket_reads",
        "BucketReads.snapshot",
        'TableName=self._name, Key=stock_key(sku, location), ConsistentRead=True\n).get("Item")',
        'TableName=self._name, Key=stock_key(sku, location), ).get("Item")',
        CONSISTENT,
    ),
    *same_line(
        "store.bucket_reads",
        "bucket_from_item",
        _RESERVED,
        [
            _RESERVED.replace('"N", 0', '"N", None'),
            _RESERVED.replace('"N", 0', '"N", '),
            _RESERVED.replace('"N", 0', '"N", 1'),
            _RESERVED.replace("{}", "None"),
            _RESERVED.replace(", {}", ", "),
        ],
        "defaults for an item without reserved: every stock record and bucket has it",
    ),
    Equivalent(
        "store.placement",
        "Placement._placed",
        "def _placed(self, line: Line, elsewhere: bool = False) -> Line:",
        "def _placed(self, line: Line, elsewhere: bool = True) -> Line:",
        "its one caller, place, always passes elsewhere",
    ),
    *same_line(
        "store.measure_writes",
        "MeasureWrites.adjust_on_hand",
        "if worth < 0:",
        ["if worth <= 0:", "if worth < 1:"],
        _TAKES_NOTHING.replace("{}", "worth"),
    ),
    *same_line(
        "store.measure_writes",
        "MeasureWrites._set",
        "if delta < 0:",
        ["if delta <= 0:", "if delta < 1:"],
        _TAKES_NOTHING.replace("{}", "delta"),
    ),
    Equivalent(
        "store.measure_writes",
        "MeasureWrites.totalled",
        _TOTALLED,
        _TOTALLED.replace("exact=False", "exact=None"),
        FALSY,
    ),
    *same_line(
        "store.measure_writes",
        "MeasureWrites.totalled",
        _SPREAD,
        [_SPREAD.replace("level.sku", "None"), _SPREAD.replace("level.location", "None")],
        "given a snapshot, a spread moves the buckets of the record the snapshot is of",
    ),
    *same_line(
        "store.measure_writes",
        "MeasureWrites._gather_for",
        _GIVES,
        [
            _GIVES.replace('"N", 0', '"N", None'),
            _GIVES.replace('"N", 0', '"N", '),
            _GIVES.replace('"N", 0', '"N", 1'),
            _GIVES.replace("{}", "None"),
            _GIVES.replace(", {}", ", "),
        ],
        ALWAYS_AVAILABLE,
    ),
    Equivalent(
        "store.stock",
        "StockStore.get_counts",
        'item["sku"]["S"], item["location"]["S"], exact=False',
        'item["sku"]["S"], item["location"]["S"], exact=None',
        FALSY,
    ),
    Equivalent(
        "store.stock",
        "StockStore.settle_items",
        "bucket: int = 0,",
        "bucket: int = 1,",
        "its two callers, a settlement and a purge, both pass the line's bucket",
    ),
    Equivalent(
        "store.stock",
        "StockStore.settle_items",
        '"SET reserved = reserved - :settled, available = available + :released, "',
        '"set reserved = reserved - :settled, available = available + :released, "',
        CASE,
    ),
    *same_line(
        "store.stock",
        "StockStore.settle_items",
        '":zero": n(0),',
        ['":zero": n(None),', '":zero": n(1),'],
        "every write that creates a stock record gives it a version: if_not_exists never "
        "falls back to :zero here",
    ),
)
