"""Mutants no test can kill because they change nothing a caller can observe, each with the
reason. An entry names the function and the changed line before and after (as the report
shows them), not mutmut's number, which moves whenever the function changes; an entry that
no longer matches a mutant of a module that ran is reported as stale."""

from __future__ import annotations

from dataclasses import dataclass

from .results import PACKAGE, Mutant


@dataclass(frozen=True, slots=True)
class Equivalent:
    module: str  # as in the table: lifecycle, store.stock
    function: str  # offset, or Class.method
    before: str
    after: str
    reason: str

    def matches(self, mutant: Mutant) -> bool:
        return (
            mutant.module == f"{PACKAGE}.{self.module}"
            and mutant.function == self.function
            and (mutant.before, mutant.after) == (self.before, self.after)
        )


FALSY = "only its truth is ever tested, and None is false like False and 0"
UNREACHABLE = "unreachable: the loop returns or raises on its last attempt"
SORTED = (
    "a plain sort of (method, template) puts literal segments first too: identifier "
    "characters all sort below '{'"
)
STRICT = "the lengths were compared just before: strict never has anything to catch"
ONE_PER_BUCKET = (
    "a plan has one entry per bucket of its snapshot: strict never has anything to catch"
)
CASE = "DynamoDB's expression keywords are case-insensitive"
NEVER_SHOWN = "the message of an exception the service always turns into PreconditionFailed"
CODEC = "Python's codec names are case-insensitive, and UTF-8 is str.encode's default"
NO_METHOD = "an event without httpMethod: no stand-in for it is a method with a body"


def _same_line(
    module: str, function: str, before: str, afters: list[str], reason: str
) -> list[Equivalent]:
    return [Equivalent(module, function, before, after, reason) for after in afters]


_ZIP = "for part, segment in zip(parts, segments, strict=True)"
_SORT = "for known_method, template in sorted((*ROUTE_SCOPES, *PUBLIC_ROUTES), key=_has_parameter):"
_ASSERT = 'raise AssertionError("unreachable")'
_MOVED = 'super().__init__("the stock record moved")'
_METHOD = 'method = str(event.get("httpMethod", "")).upper()'
_OFFSET_SHIP = 'after = label_lines.ship(line, applied, None, "offset")'
_READ = "TableName=self._name, Key=stock_key(sku, location), ConsistentRead=True"
_ENCODE = 'raw = str(body).encode("utf-8", errors="surrogatepass")'
_MOVE = "self._move(seen, wanted, seen.shards, now, reshard=False)"
_GATHER = "self._move(seen, wanted, seen.shards, now, reshard=False, close=debt_ahead)"
_ZIP_PLAN = "replace(b, available=w) for b, w in zip(seen.buckets, wanted, strict=True)"
_AVAILABLE = 'available = int(item.get("available", {}).get("N", 0))'
_PLACED = "placed[index] = replace(line, bucket=0 if bucket is None else bucket, placed=True)"
_VIEW = "view = self._views.setdefault((seen.sku, seen.location), View())"
MOVE_SHARDS = "a move's shards is read only by a reshard, which passes its own"

EQUIVALENTS: tuple[Equivalent, ...] = (
    # lifecycle
    *_same_line(
        "lifecycle",
        "_take",
        "quantity = taken.get(key, 0)",
        ["quantity = taken.get(key, None)", "quantity = taken.get(key, )"],
        FALSY,
    ),
    *_same_line(
        "lifecycle",
        "_offset_labels",
        _OFFSET_SHIP,
        [_OFFSET_SHIP.replace('"offset"', x) for x in ('"OFFSET"', "None", '"XXoffsetXX"')],
        "names the field of a refusal of named labels: an offset names none",
    ),
    Equivalent(
        "lifecycle",
        "_follow",
        "if target >= line.held:",
        "if target > line.held:",
        "at target == held both branches build the same line: nothing grows, nothing is released",
    ),
    # access
    *_same_line(
        "access",
        "route_of_path",
        _SORT,
        [
            _SORT.replace("key=_has_parameter", "key=None"),
            _SORT.replace(", key=_has_parameter", ", "),
        ],
        SORTED,
    ),
    *_same_line(
        "access",
        "route_of_path",
        _ZIP,
        [
            _ZIP.replace("True", "None"),
            _ZIP.replace("True", "False"),
            _ZIP.replace("strict=True", ""),
        ],
        STRICT,
    ),
    # http.request_guard
    *_same_line(
        "http.request_guard",
        "refuse",
        _METHOD,
        [
            _METHOD.replace('""', '"XXXX"'),
            _METHOD.replace('""', "None"),
            _METHOD.replace(', ""', ", "),
        ],
        NO_METHOD,
    ),
    Equivalent(
        "http.request_guard",
        "refuse",
        '_, declared = _content_type_header(event) or ("", "")',
        '_, declared = _content_type_header(event) or ("XXXX", "")',
        "the header's name is thrown away here",
    ),
    *_same_line(
        "http.request_guard",
        "refuse",
        _ENCODE,
        [_ENCODE.replace('"utf-8", ', ""), _ENCODE.replace("utf-8", "UTF-8")],
        CODEC,
    ),
    Equivalent(
        "http.request_guard",
        "refuse",
        'text = raw.decode("utf-8")',
        'text = raw.decode("UTF-8")',
        CODEC,
    ),
    # store.retry
    *_same_line(
        "store.retry",
        "with_retries",
        _ASSERT,
        [
            "raise AssertionError(None)",
            'raise AssertionError("XXunreachableXX")',
            'raise AssertionError("UNREACHABLE")',
        ],
        UNREACHABLE,
    ),
    # store.receipts
    Equivalent(
        "store.receipts",
        "ReceiptLedger.complete",
        'item["Put"]["ConditionExpression"] = "#state = :claimed AND #owner = :owner"',
        'item["Put"]["ConditionExpression"] = "#state = :claimed and #owner = :owner"',
        CASE,
    ),
    *_same_line(
        "store.receipts",
        "ReceiptLedger._refuse_claim",
        ').get("Item", {})',
        [').get("Item", None)', ').get("Item", )'],
        FALSY,
    ),
    # store.stock
    *_same_line(
        "store.stock_conditions",
        "VersionMismatch.__init__",
        _MOVED,
        [
            "super().__init__(None)",
            'super().__init__("XXthe stock record movedXX")',
            'super().__init__("THE STOCK RECORD MOVED")',
        ],
        NEVER_SHOWN,
    ),
    Equivalent(
        "store.stock",
        "StockStore.hold_item",
        'condition += " OR attribute_not_exists(available)"',
        'condition += " or attribute_not_exists(available)"',
        CASE,
    ),
    Equivalent(
        "store.stock",
        "StockStore.hold_item",
        '"SET reserved = if_not_exists(reserved, :zero) + :q, "',
        '"set reserved = if_not_exists(reserved, :zero) + :q, "',
        CASE + " (and every name in it is lower-case already)",
    ),
    Equivalent(
        "store.stock",
        "StockStore.hold_item",
        '+ ("" if line.labels else " AND attribute_not_exists(serialized)"),',
        '+ ("" if line.labels else " and attribute_not_exists(serialized)"),',
        CASE,
    ),
    Equivalent(
        "supply",
        "parse",
        "signed = False  # the next term needs its own sign: an operator sets it",
        "signed = None  # the next term needs its own sign: an operator sets it",
        FALSY,
    ),
    Equivalent(
        "store.measure_writes",
        "MeasureWrites._set",
        'conditions.append("(attribute_not_exists(#sequence) OR #sequence < :sequence)")',
        'conditions.append("(attribute_not_exists(#sequence) or #sequence < :sequence)")',
        CASE,
    ),
    Equivalent(
        "store.measure_writes",
        "MeasureWrites._remember",
        "self._known.popitem(last=False)",
        "self._known.popitem(last=None)",
        FALSY,
    ),
    Equivalent(
        "store.measure_writes",
        "MeasureWrites._set",
        'sets.insert(0, f"#m{index} = :m{index}")',
        'sets.insert(1, f"#m{index} = :m{index}")',
        "the clauses of one SET are applied together: their order changes nothing",
    ),
    Equivalent(
        "store.measure_writes",
        "MeasureWrites._set",
        '"ConditionExpression": " AND ".join(conditions),',
        '"ConditionExpression": " and ".join(conditions),',
        CASE,
    ),
    Equivalent(
        "store.measure_writes",
        "MeasureWrites._set",
        'sets.insert(0, "onHand = :m0, available = :m0 - if_not_exists(reserved, :zero)")',
        'sets.insert(1, "onHand = :m0, available = :m0 - if_not_exists(reserved, :zero)")',
        "the clauses of one SET are applied together: their order changes nothing",
    ),
    *_same_line(
        "store.measure_writes",
        "MeasureWrites._old",
        _READ,
        [_READ.replace("=True", "=None"), _READ.replace("=True", "=False")],
        "moto and DynamoDB Local read consistently either way; only AWS could tell them apart",
    ),
    Equivalent(
        "store.measure_writes",
        "MeasureWrites._old",
        _READ + '\n).get("Item")',
        'TableName=self._name, Key=stock_key(sku, location), ).get("Item")',
        "moto and DynamoDB Local read consistently either way; only AWS could tell them apart",
    ),
    Equivalent(
        "store.measure_writes",
        "MeasureWrites.set_on_hand_with",
        'update["ConditionExpression"] += " AND reserved = :reserved"',
        'update["ConditionExpression"] += " and reserved = :reserved"',
        CASE,
    ),
    Equivalent(
        "store.measure_writes",
        "MeasureWrites.set_on_hand_with",
        "raise_if_key_taken(cancelled.reasons[-1])",
        "raise_if_key_taken(cancelled.reasons[+1])",
        "the transaction has two items, the stock record's and the key's: the last is index 1",
    ),
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
    *_same_line(
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
    *_same_line(
        "store.shards",
        "_gathered",
        "if available[0] >= 0:",
        ["if available[0] > 0:", "if available[0] >= 1:"],
        "at zero the loop goes on, and each later donor gives min(its units, 0): nothing",
    ),
    # store.placement
    *_same_line(
        "store.placement",
        "Placement._learn_snapshot",
        _VIEW,
        [_VIEW.replace("View()", "None"), _VIEW.replace(", View()", ", ")],
        "replace_short learns snapshots only of records it has a view of: the default "
        "is never taken",
    ),
    Equivalent(
        "store.placement",
        "Placement.discover",
        "self._unsharded.popitem(last=False)",
        "self._unsharded.popitem(last=None)",
        FALSY,
    ),
    *_same_line(
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
        "defaults for an item without available: every stock record and bucket has it",
    ),
    *_same_line(
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
    *_same_line(
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
)
