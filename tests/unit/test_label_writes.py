"""The label store's writes and the label use cases (moto in-process): each write is
conditioned on what it read, moves stock only where a label's stock moved, and keeps what a
later write must know (creation, the ERP's sequence, a tombstone's lifetime)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from reservations.clock import ManualClock
from reservations.drift import check_table
from reservations.erp import Effect, ErpService
from reservations.erp_messages import LabelRemove, LabelUpsert
from reservations.labelling import LabelWrite
from reservations.records import Label, LabelStatus
from reservations.service import ReservationService
from reservations.store import CountedStock, LabelChanged, Store
from reservations.store.keys import label_key, stock_key
from reservations.store.label_items import label_item
from tests.support.erp import level
from tests.support.invariants import check_invariants
from tests.unit.test_labels_store import reserve

NOW = 1_800_000_000


def label(name: str = "L-1", quantity: int = 2, **changes: Any) -> Label:
    return replace(Label(name, "S", "WH1", quantity, NOW, NOW), **changes)


def test_a_write_is_conditioned_on_the_item_it_read(moto_client: Any, moto_table: str) -> None:
    labels = Store(moto_client, moto_table).labels
    labels.write(None, label(), NOW, token="t1")
    with pytest.raises(LabelChanged):  # created meanwhile by someone else
        labels.write(None, label(quantity=3), NOW, token="t2")
    read = labels.get_item("L-1")
    labels.write(read, label(quantity=3, version=2), NOW, token="t3")
    with pytest.raises(LabelChanged):  # read before the write above
        labels.write(read, label(quantity=4, version=2), NOW, token="t4")
    stored = labels.get("L-1")
    assert stored is not None and (stored.quantity, stored.version) == (3, 2)
    check_invariants(moto_client, moto_table)


def test_a_label_never_joins_counted_stock_nor_takes_more_than_is_available(
    moto_client: Any, moto_table: str
) -> None:
    store = Store(moto_client, moto_table)
    store.stock.set_on_hand("C", "WH1", 4, NOW)
    with pytest.raises(CountedStock):
        store.labels.write(None, label(sku="C"), NOW, token="t1")
    store.labels.write(None, label(), NOW, token="t2")
    # The record holds less than the label says it leaves with: drift, never a counted one.
    moto_client.update_item(
        TableName=moto_table, Key=stock_key("S", "WH1"), UpdateExpression="SET available = :a",
        ExpressionAttributeValues={":a": {"N": "1"}},
    )  # fmt: skip
    with pytest.raises(LabelChanged):
        store.labels.write(store.labels.get_item("L-1"), None, NOW, token="t3")


def test_a_removed_label_leaves_a_tombstone_for_the_receipts_retention(
    erp: ErpService, moto_client: Any, moto_table: str
) -> None:
    upsert = {"type": "label.upsert", "schemaVersion": 1, "label": "L-1", "sku": "S",
              "location": "WH1", "quantity": 2, "sequence": 7}  # fmt: skip
    erp.apply(LabelUpsert.model_validate(upsert))
    removed = {"type": "label.remove", "schemaVersion": 1, "label": "L-1", "sequence": 8}
    assert erp.apply(LabelRemove.model_validate(removed)).applied == -2
    tombstone = moto_client.get_item(TableName=moto_table, Key=label_key("L-1"))["Item"]
    assert tombstone["removed"] == {"BOOL": True}
    assert tombstone["erpSequence"] == {"N": "8"}
    assert int(tombstone["purgeAt"]["N"]) == NOW + 35 * 24 * 3600
    assert "labelSku" not in tombstone  # out of every listing
    again = erp.apply(LabelUpsert.model_validate({**upsert, "sequence": 8}))
    assert again.effect is Effect.STALE  # the same sequence is no newer
    # Removed again later, then an upsert older than that second remove arrives: stale.
    assert erp.apply(LabelRemove.model_validate({**removed, "sequence": 10})).applied == 0
    assert erp.apply(LabelUpsert.model_validate({**upsert, "sequence": 9})).effect is Effect.STALE
    # A label never seen, removed: the tombstone stops an older upsert arriving after it.
    unknown = {**removed, "label": "L-404"}
    assert erp.apply(LabelRemove.model_validate(unknown)).applied == 0
    late = {**upsert, "label": "L-404", "sequence": 7}
    assert erp.apply(LabelUpsert.model_validate(late)).effect is Effect.STALE
    check_invariants(moto_client, moto_table)


def test_a_change_keeps_what_the_label_was_created_with(
    service: ReservationService, erp: ErpService, clock: ManualClock
) -> None:
    first, created = service.labels.put(LabelWrite("L-1", "S", "WH1", 2, sequence=5))
    assert created and first.created_at == int(clock.now())
    clock.advance(60)
    later, created = service.labels.put(LabelWrite("L-1", "S", "WH1", 3, bin="B"))
    assert not created
    assert (later.created_at, later.updated_at) == (first.created_at, first.created_at + 60)
    assert later.erp_sequence == 5  # an operator's write keeps the ERP's sequence
    late = {"type": "label.upsert", "schemaVersion": 1, "label": "L-1", "sku": "S",
            "location": "WH1", "quantity": 9, "sequence": 4}  # fmt: skip
    assert erp.apply(LabelUpsert.model_validate(late)).effect is Effect.STALE
    assert level(service, "S") == (3, 0, 3)


def test_a_label_shipped_empty_comes_back_active_with_new_stock(
    service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    service.labels.put(LabelWrite("L-1", "S", "WH1", 2))
    reserve(service, "r1", ["L-1"])
    service.fulfill("r1", None)
    stored = service.labels.get("L-1")
    assert stored is not None and (stored.status, stored.quantity) == (LabelStatus.SHIPPED, 0)
    back, _ = service.labels.put(LabelWrite("L-1", "S", "WH1", 4))
    assert (back.status, back.quantity, back.reservation_id) == (LabelStatus.ACTIVE, 4, None)
    assert level(service, "S") == (4, 0, 4)
    check_invariants(moto_client, moto_table)


def test_the_drift_check_names_each_way_labels_can_drift(
    service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    service.labels.put(LabelWrite("L-1", "S", "WH1", 2))
    service.labels.put(LabelWrite("L-2", "S", "WH1", 1))
    reserve(service, "r1", ["L-1"])
    # A label put straight into the table, on a record that is not serialized.
    stray = label("L-9", sku="C", created_at=NOW)
    moto_client.put_item(TableName=moto_table, Item=label_item(stray))
    # L-2 marked RESERVED by a hold that does not hold it.
    moto_client.update_item(
        TableName=moto_table, Key=label_key("L-2"),
        UpdateExpression="SET #s = :r, reservationId = :id",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":r": {"S": "RESERVED"}, ":id": {"S": "r9"}},
    )  # fmt: skip
    problems = check_table(moto_client, moto_table).problems
    assert any("('C', 'WH1') on a record that is not serialized" in p for p in problems), problems
    assert any("label L-2: RESERVED by r9, no line holds it" in p for p in problems), problems
