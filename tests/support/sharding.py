"""The sharded record the sharded-stock unit tests start from."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from reservations.commands import ReserveLine, ReserveRequest
from reservations.service import ReservationService
from reservations.store import Store
from reservations.store.keys import shard_key

SHARDED_AT = 1_800_000_000  # the clock of the tests that use it


def shard_a(store: Store) -> Store:
    """A at WH1: 8 units over 4 buckets, 2 in each (docs/architecture.md, "Sharded stock")."""
    store.stock.set_on_hand("A", "WH1", 8, SHARDED_AT)
    store.shards.reshard("A", "WH1", 4, SHARDED_AT)
    return store


def reserve(service: ReservationService, rid: str, quantity: int) -> None:
    """A hold of ``quantity`` of A at WH1."""
    service.reserve(ReserveRequest((ReserveLine("A", "WH1", quantity),), id=rid), "web")


def stamps(client: Any, table: str) -> list[str]:
    """Each bucket item's updatedAt as stored, bucket 0 (the record) first: moto stores a
    number it cannot parse, so a move stamped with the wrong time shows only here."""
    keys = [shard_key("A", "WH1", bucket) for bucket in range(4)]
    return [client.get_item(TableName=table, Key=key)["Item"]["updatedAt"]["N"] for key in keys]


def busy_snapshots(**_: Any) -> None:
    """A client's transact_get_items while reserves keep every bucket in a transaction."""
    error = {"Code": "TransactionCanceledException", "Message": "busy"}
    raise ClientError({"Error": error}, "TransactGetItems")  # type: ignore[typeddict-item]
