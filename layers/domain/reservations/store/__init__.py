"""The only door to DynamoDB: every key, expression and transaction of the service lives in
this package (table design and invariants: docs/architecture.md).

``Store`` gathers one object per aggregate over the one table: ``reservations`` (headers
and hold lines), ``stock`` (stock records), ``receipts`` (the ERP's receipt ledger) and
``locations`` (the location network).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..config import (
    ERP_RECEIPT_RETENTION_SECONDS,
    IDEMPOTENCY_LEASE_SECONDS,
    IDEMPOTENCY_RETENTION_SECONDS,
    MOVEMENT_RETENTION_SECONDS,
)
from ..supply import DEFAULT_FORMULA, Formula
from .idempotency import IdempotencyStore, KeyClaim, KeyCompleted, KeyInUse, StoredResponse
from .labels import CountedStock, LabelChanged, LabelsRefused, LabelStore
from .locations import LocationStore
from .movements import MovementStore
from .pages import scan_all
from .placement import Placement
from .purges import PurgedLines, SettlementRefused
from .receipts import AlreadyApplied, Claim, MessageInProgress, ReceiptLedger
from .refusals import (
    CountersDisagree,
    RecordBeingPurged,
    ReservationChanged,
    ReservationExists,
    StockShort,
)
from .reservations import ReservationStore
from .retry import RetryPolicy
from .search import HeaderSearch
from .stock import StaleSequence, StockStore
from .transact import WriteConflict

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


class Store:
    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        *,
        receipt_retention_seconds: int = ERP_RECEIPT_RETENTION_SECONDS,
        idempotency_retention_seconds: int = IDEMPOTENCY_RETENTION_SECONDS,
        idempotency_lease_seconds: int = IDEMPOTENCY_LEASE_SECONDS,
        retry: RetryPolicy | None = None,
        formula: Formula = DEFAULT_FORMULA,
        movement_retention_seconds: int = MOVEMENT_RETENTION_SECONDS,
    ) -> None:
        self.client = client
        self.name = table_name
        self.receipts = ReceiptLedger(client, table_name, receipt_retention_seconds, retry)
        self.stock = StockStore(client, table_name, self.receipts, formula)
        # A removed label's tombstone outlives any ERP message that could still arrive.
        self.labels = LabelStore(client, table_name, receipt_retention_seconds)
        self.reservations = ReservationStore(
            client, table_name, self.stock, self.receipts, self.labels
        )
        self.shards = self.stock.shards
        self.placement = Placement(self.shards)
        self.search = HeaderSearch(client, table_name)
        self.movements = MovementStore(client, table_name, movement_retention_seconds)
        self.locations = LocationStore(client, table_name)
        self.purged_lines = PurgedLines(client, table_name, self.stock, self.labels)
        self.idempotency = IdempotencyStore(
            client, table_name, idempotency_retention_seconds, idempotency_lease_seconds
        )

    def scan(self) -> Iterator[Mapping[str, Any]]:
        """Every item (the drift check; operators only)."""
        return scan_all(self.client, self.name)


__all__ = [
    "AlreadyApplied",
    "Claim",
    "CountedStock",
    "CountersDisagree",
    "IdempotencyStore",
    "KeyClaim",
    "KeyCompleted",
    "KeyInUse",
    "LabelChanged",
    "LabelStore",
    "LabelsRefused",
    "LocationStore",
    "MessageInProgress",
    "RecordBeingPurged",
    "ReservationChanged",
    "ReservationExists",
    "SettlementRefused",
    "StaleSequence",
    "StockShort",
    "Store",
    "StoredResponse",
    "WriteConflict",
]
