"""Mutants no test can kill because they change nothing a caller can observe, each with the
reason. An entry names the function and the changed line before and after (as the report
shows them), not mutmut's number, which moves whenever the function changes; an entry that
no longer matches a mutant of a module that ran is reported as stale."""

from __future__ import annotations

from .equivalence import (
    CASE,
    CODEC,
    CONSISTENT,
    FALSY,
    NEVER_SHOWN,
    NO_METHOD,
    SORTED,
    STRICT,
    UNREACHABLE,
    Equivalent,
    same_line,
)
from .sharded_equivalents import SHARDED

_ZIP = "for part, segment in zip(parts, segments, strict=True)"
_SORT = "for known_method, template in sorted((*ROUTE_SCOPES, *PUBLIC_ROUTES), key=_has_parameter):"
_ASSERT = 'raise AssertionError("unreachable")'
_MOVED = 'super().__init__("the stock record moved")'
_METHOD = 'method = str(event.get("httpMethod", "")).upper()'
_OFFSET_SHIP = 'after = label_lines.ship(line, applied, None, "offset")'
_READ = "TableName=self._name, Key=stock_key(sku, location), ConsistentRead=True"
_ENCODE = 'raw = str(body).encode("utf-8", errors="surrogatepass")'

EQUIVALENTS: tuple[Equivalent, ...] = (
    # lifecycle
    *same_line(
        "lifecycle",
        "_take",
        "quantity = taken.get(key, 0)",
        ["quantity = taken.get(key, None)", "quantity = taken.get(key, )"],
        FALSY,
    ),
    *same_line(
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
    *same_line(
        "access",
        "route_of_path",
        _SORT,
        [
            _SORT.replace("key=_has_parameter", "key=None"),
            _SORT.replace(", key=_has_parameter", ", "),
        ],
        SORTED,
    ),
    *same_line(
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
    *same_line(
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
    *same_line(
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
    *same_line(
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
    *same_line(
        "store.receipts",
        "ReceiptLedger._refuse_claim",
        ').get("Item", {})',
        [').get("Item", None)', ').get("Item", )'],
        FALSY,
    ),
    # store.stock
    *same_line(
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
        '"" if line.labels else " AND attribute_not_exists(serialized)"',
        '"" if line.labels else " and attribute_not_exists(serialized)"',
        CASE,
    ),
    Equivalent(
        "store.stock",
        "StockStore.hold_item",
        'condition = "available >= :q AND attribute_not_exists(#closed)"',
        'condition = "available >= :q and attribute_not_exists(#closed)"',
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
    *same_line(
        "store.measure_writes",
        "MeasureWrites._old",
        _READ,
        [_READ.replace("=True", "=None"), _READ.replace("=True", "=False")],
        CONSISTENT,
    ),
    Equivalent(
        "store.measure_writes",
        "MeasureWrites._old",
        _READ + '\n).get("Item")',
        'TableName=self._name, Key=stock_key(sku, location), ).get("Item")',
        CONSISTENT,
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
    *SHARDED,
)
