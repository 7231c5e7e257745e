"""What a DynamoDB JSON request touches: its items, how, and at what write cost.

Only the operations the contention rules care about are read; every other request is
forwarded as is. Write units follow the AWS developer guide: one unit per 1 KB of item
written, rounded up, twice that for an item written inside a transaction (a prepare and
a commit write). A ``Put`` carries the whole item, so its size is computed from its
attributes as DynamoDB sizes them; an ``Update``, ``Delete`` or ``ConditionCheck`` names
only the key, and the stored item is not seen here, so it is counted as one 1 KB unit
(every item this service writes is well under 1 KB: a stock record or a hold line is a
few hundred bytes). A ``ConditionCheck`` in a transaction is charged as a write: the
guide's "two underlying reads or writes of every item" does not say which, so the
dearer reading is taken.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import Any

TARGET_PREFIX = "DynamoDB_20120810."
KB = 1024


class Kind(Enum):
    TRANSACTION = "transaction"  # an item of a TransactWriteItems
    WRITE = "write"  # PutItem, UpdateItem, DeleteItem
    TRANSACT_READ = "transact-read"  # an item of a TransactGetItems


@dataclass(frozen=True, slots=True)
class ItemRef:
    """One item of one table; ``partition`` is its partition key's value."""

    table: str
    partition: str
    sort: str | None = None


@dataclass(frozen=True, slots=True)
class Access:
    item: ItemRef
    units: int  # write units it costs its partition (0 for a read)


@dataclass(frozen=True, slots=True)
class Operation:
    """A request the rules judge: its accesses in the order the request lists them."""

    name: str  # the X-Amz-Target operation, e.g. "TransactWriteItems"
    kind: Kind
    accesses: tuple[Access, ...]

    @property
    def transactional(self) -> bool:
        return self.kind is not Kind.WRITE


@dataclass(frozen=True, slots=True)
class KeySchema:
    """The attribute names of the partition key and, if any, the sort key."""

    partition: str
    sort: str | None = None

    @classmethod
    def from_key_schema(cls, elements: Sequence[Mapping[str, str]]) -> KeySchema:
        names = {element["KeyType"]: element["AttributeName"] for element in elements}
        return cls(names["HASH"], names.get("RANGE"))

    def ref(self, table: str, key: Mapping[str, Any]) -> ItemRef:
        sort = None if self.sort is None else _scalar(key[self.sort])
        return ItemRef(table, _scalar(key[self.partition]), sort)


def _scalar(value: Mapping[str, Any]) -> str:
    """A key attribute (S, N or B) as one string that keeps types apart."""
    ((kind, raw),) = value.items()
    return f"{kind}:{raw}"


# --- item size, as the developer guide's "item sizes and formats" counts it --------------


def attribute_size(value: Mapping[str, Any]) -> int:
    ((kind, raw),) = value.items()
    if kind == "S":
        return len(str(raw).encode("utf-8"))
    if kind == "B":
        return len(str(raw)) * 3 // 4  # base64 on the wire
    if kind == "N":
        # About one byte per two significant digits, plus one.
        digits = Decimal(str(raw)).normalize().as_tuple().digits
        return math.ceil(len(digits) / 2) + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind in ("SS", "BS", "NS"):
        return sum(attribute_size({kind[0]: element}) for element in raw)
    if kind == "L":
        return 3 + sum(1 + attribute_size(element) for element in raw)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(v) for k, v in raw.items())
    raise ValueError(f"unknown attribute type {kind!r}")


def item_size(item: Mapping[str, Any]) -> int:
    return sum(len(name.encode("utf-8")) + attribute_size(v) for name, v in item.items())


def write_units(size: int | None, transactional: bool) -> int:
    """Write units of one item written; ``None``: a size not known here, counted as 1 KB."""
    units = max(1, math.ceil((size or KB) / KB))
    return 2 * units if transactional else units


# --- requests -----------------------------------------------------------------------------


_TRANSACT_ACTIONS = ("Put", "Update", "Delete", "ConditionCheck")
_PLAIN_WRITES = frozenset({"PutItem", "UpdateItem", "DeleteItem"})


def operation_of(target: str | None, body: bytes, schema: KeySchema) -> Operation | None:
    """The operation the rules judge, or None for one they leave alone (reads, scans,
    table management, batch writes: the service uses none of those on hot items)."""
    if not target or not target.startswith(TARGET_PREFIX):
        return None
    name = target.removeprefix(TARGET_PREFIX)
    if name not in _PLAIN_WRITES and name not in ("TransactWriteItems", "TransactGetItems"):
        return None
    request: dict[str, Any] = json.loads(body)
    if name == "TransactWriteItems":
        return Operation(name, Kind.TRANSACTION, tuple(_transact_accesses(request, schema)))
    if name == "TransactGetItems":
        reads = [
            Access(schema.ref(get["Get"]["TableName"], get["Get"]["Key"]), 0)
            for get in request.get("TransactItems", [])
        ]
        return Operation(name, Kind.TRANSACT_READ, tuple(reads))
    table = request["TableName"]
    if name == "PutItem":
        item = request["Item"]
        access = Access(schema.ref(table, item), write_units(item_size(item), False))
    else:
        access = Access(schema.ref(table, request["Key"]), write_units(None, False))
    return Operation(name, Kind.WRITE, (access,))


def _transact_accesses(request: Mapping[str, Any], schema: KeySchema) -> list[Access]:
    accesses = []
    for entry in request.get("TransactItems", []):
        action = next(a for a in _TRANSACT_ACTIONS if a in entry)
        detail = entry[action]
        if action == "Put":
            item = detail["Item"]
            accesses.append(
                Access(schema.ref(detail["TableName"], item), write_units(item_size(item), True))
            )
        else:
            accesses.append(
                Access(schema.ref(detail["TableName"], detail["Key"]), write_units(None, True))
            )
    return accesses
