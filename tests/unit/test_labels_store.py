"""Labels in the table (moto in-process): the ERP's label messages, a reserve that counted a
label wrong, the drift check's view of labels, and the events a label's changes tell."""

from __future__ import annotations

import json
from typing import Any

import pytest

from reservations.clock import ManualClock
from reservations.drift import check_table
from reservations.erp import Effect, ErpService
from reservations.erp_messages import LabelRemove, LabelUpsert, PoisonMessage, parse_message
from reservations.events.derive import LABEL_CHANGED, derive
from reservations.http.models import CreateReservationRequest
from reservations.records import Label, LabelStatus
from reservations.service import ReservationService
from reservations.store import labels as labels_module
from reservations.store.changes import ItemChange
from reservations.store.keys import label_key
from reservations.store.labels import LabelStore
from reservations.store.retry import RetryPolicy
from tests.conftest import make_service
from tests.support.erp import adjust, level, offset, stock_set
from tests.support.event_bus import validate
from tests.support.invariants import check_invariants


def upsert(label: str, quantity: int, sequence: int, **where: str) -> LabelUpsert:
    body = {"type": "label.upsert", "schemaVersion": 1, "label": label, "quantity": quantity,
            "sku": where.get("sku", "S"), "location": where.get("location", "WH1"),
            "sequence": sequence}  # fmt: skip
    parsed = parse_message(json.dumps(body))
    assert isinstance(parsed, LabelUpsert)
    return parsed


def remove(label: str, sequence: int) -> LabelRemove:
    return LabelRemove.model_validate(
        {"type": "label.remove", "schemaVersion": 1, "label": label, "sequence": sequence}
    )


def reserve(service: ReservationService, rid: str, labels: list[str]) -> Any:
    request = CreateReservationRequest.model_validate(
        {"id": rid, "items": [{"sku": "S", "location": "WH1", "labels": labels}]}
    )
    return service.reserve(request.to_command(), "web").reservation


class Counting:
    """The client, counting the transactions it sends."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.transactions = 0

    def transact_write_items(self, **params: Any) -> Any:
        self.transactions += 1
        return self.real.transact_write_items(**params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


# --- the ERP's label messages -------------------------------------------------------------


def test_label_messages_apply_in_sequence_and_move_stock(
    erp: ErpService, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    assert erp.apply(upsert("L-1", 4, sequence=2)).effect is Effect.APPLIED
    assert level(service, "S") == (4, 0, 4)
    late = erp.apply(upsert("L-1", 9, sequence=1))
    assert (late.effect, level(service, "S")) == (Effect.STALE, (4, 0, 4))
    assert erp.apply(upsert("L-1", 6, sequence=3)).effect is Effect.APPLIED
    assert level(service, "S") == (6, 0, 6)
    removed = erp.apply(remove("L-1", sequence=4))
    assert (removed.effect, removed.applied) == (Effect.APPLIED, -6)
    assert level(service, "S") == (0, 0, 0)
    # The tombstone keeps the sequence: a late upsert does not bring the label back.
    assert erp.apply(upsert("L-1", 6, sequence=3)).effect is Effect.STALE
    assert service.labels.states(["L-1"])[0].status is None
    assert erp.apply(upsert("L-1", 2, sequence=5)).effect is Effect.APPLIED
    assert level(service, "S") == (2, 0, 2)
    check_invariants(moto_client, moto_table)


def test_messages_that_mix_counted_and_labelled_stock_are_poison(
    erp: ErpService, service: ReservationService
) -> None:
    erp.apply(upsert("L-1", 1, sequence=1))
    with pytest.raises(PoisonMessage, match="STOCK_SERIALIZED"):
        erp.apply(stock_set(5, sequence=1, sku="S"))
    with pytest.raises(PoisonMessage, match="STOCK_SERIALIZED"):
        erp.apply(adjust("a-1", 3, sku="S"))
    erp.apply(stock_set(5, sequence=1, sku="C"))
    with pytest.raises(PoisonMessage, match="STOCK_COUNTED"):
        erp.apply(upsert("L-2", 1, sequence=1, sku="C"))
    reserve(service, "r1", ["L-1"])
    with pytest.raises(PoisonMessage, match="LABEL_RESERVED"):
        erp.apply(remove("L-1", sequence=2))
    with pytest.raises(PoisonMessage, match="LABEL_RESERVED"):
        erp.apply(upsert("L-1", 3, sequence=2))
    assert (level(service, "S"), level(service, "C")) == ((1, 1, 0), (5, 0, 5))


@pytest.mark.parametrize("deduct", [True, False])
def test_an_erp_offset_settles_a_line_of_labels_whole(
    erp: ErpService, service: ReservationService, moto_client: Any, moto_table: str, deduct: bool
) -> None:
    erp.apply(upsert("L-1", 2, sequence=1))
    erp.apply(upsert("L-2", 1, sequence=1))
    reserve(service, "r1", ["L-1", "L-2"])
    taken = offset("o-1", 2, "r1", sku="S", deductOnHand=deduct)
    assert erp.apply(taken).applied == 2
    states = {x.label: x.status for x in service.labels.states(["L-1", "L-2"])}
    if deduct:  # L-1 shipped whole, L-2 back in stock
        assert states == {"L-1": "SHIPPED", "L-2": "ACTIVE"} and level(service, "S") == (1, 0, 1)
    else:  # the ERP holds them now; here both are stock again until it says otherwise
        assert states == {"L-1": "ACTIVE", "L-2": "ACTIVE"} and level(service, "S") == (3, 0, 3)
    assert service.get("r1").status.value == "FULFILLED"
    check_invariants(moto_client, moto_table)


# --- counting labels in one transaction ---------------------------------------------------


@pytest.mark.parametrize(("quantity", "transactions"), [(1, 1), (5, 2)])
def test_an_environment_that_never_saw_a_label_counts_it_a_unit_then_learns(
    erp: ErpService,
    moto_client: Any,
    moto_table: str,
    clock: ManualClock,
    fast_retries: RetryPolicy,
    quantity: int,
    transactions: int,
) -> None:
    for name in ("L-1", "L-2", "L-3"):
        erp.apply(upsert(name, quantity, sequence=1))
    counting = Counting(moto_client)
    fresh = make_service(counting, moto_table, clock, fast_retries)  # type: ignore[arg-type]
    held = reserve(fresh, "r1", ["L-1", "L-2", "L-3"])
    assert held.lines[0].held == 3 * quantity
    assert counting.transactions == transactions
    # Learnt: the next reserve of such labels in this environment is one transaction.
    fresh.cancel("r1")
    counting.transactions = 0
    reserve(fresh, "r2", ["L-1", "L-2", "L-3"])
    assert counting.transactions == 1
    check_invariants(moto_client, moto_table)


def test_an_environment_remembers_a_bounded_number_of_label_quantities(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(labels_module, "_KNOWN_QUANTITIES", 2)
    store = LabelStore(None, "t", 60)  # type: ignore[arg-type]
    store.learn("L-1", 5)
    store.learn("L-2", 6)
    store.learn("L-2", 7)  # known already: nothing is forgotten
    assert (store.guess("L-1"), store.guess("L-2")) == (5, 7)
    store.learn("L-3", 8)  # the oldest goes
    assert (store.guess("L-1"), store.guess("L-2"), store.guess("L-3")) == (1, 7, 8)


# --- the drift check and the events ---------------------------------------------------------


def test_the_drift_check_sees_labels_out_of_step_with_their_holds(
    erp: ErpService, service: ReservationService, moto_client: Any, moto_table: str
) -> None:
    erp.apply(upsert("L-1", 2, sequence=1))
    erp.apply(upsert("L-2", 2, sequence=1))
    reserve(service, "r1", ["L-1"])
    assert check_table(moto_client, moto_table).ok
    # A label freed behind its hold's back, and one that lost units behind its record's.
    moto_client.update_item(
        TableName=moto_table, Key=label_key("L-1"), UpdateExpression="SET #s = :a",
        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":a": {"S": "ACTIVE"}},
    )  # fmt: skip
    moto_client.update_item(
        TableName=moto_table, Key=label_key("L-2"), UpdateExpression="SET quantity = :q",
        ExpressionAttributeValues={":q": {"N": "1"}},
    )  # fmt: skip
    problems = check_table(moto_client, moto_table).problems
    assert any("label L-1: held by [('r1', 2)]" in p for p in problems), problems
    assert any("onHand 4 but its labels hold 3" in p for p in problems), problems


def change(old: Label | None, new: Label | None) -> ItemChange[Label]:
    return ItemChange("evt-1", "1", old, new, at=1_800_000_000)


def test_a_label_tells_each_change_of_its_stock_or_status_once() -> None:
    active = Label("L-1", "S", "WH1", 2, created_at=1, updated_at=1)
    reserved = Label(
        "L-1", "S", "WH1", 2, 1, 2, LabelStatus.RESERVED, reservation_id="r1", order_id="o1"
    )
    [created] = derive(change(None, active))
    assert (created.detail_type, created.detail["previousStatus"]) == (LABEL_CHANGED, None)
    [taken] = derive(change(active, reserved))
    assert (taken.detail["status"], taken.detail["reservationId"]) == ("RESERVED", "r1")
    [gone] = derive(change(active, None))
    assert (gone.detail["removed"], gone.detail["quantity"], gone.detail["status"]) == (
        True,
        0,
        None,
    )
    assert derive(change(active, active)) == []
    for event in (created, taken, gone):  # as the bus carries them, against the schema
        validate({"id": "x", "detail-type": event.detail_type, "source": "reservations",
                  "time": "2027-01-15T08:00:00Z", "detail": event.detail})  # fmt: skip
    assert created.id == derive(change(None, active))[0].id  # a redelivery, the same id
