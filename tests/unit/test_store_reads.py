"""What the store asks DynamoDB for, request by request (moto in-process): every read a
write is decided on is strongly consistent, and a refusal that carries the item as it was
costs no second request (docs/architecture.md, "Access patterns")."""

from __future__ import annotations

from typing import Any

import pytest

from reservations.clock import ManualClock
from reservations.erp import ErpService
from reservations.errors import Contention
from reservations.lifecycle import LineQuantity
from reservations.records import Receipt
from reservations.service import ReservationService
from reservations.store import AlreadyApplied, MessageInProgress, Store
from reservations.store.stock import UNPROCESSED_ROUNDS
from tests.support.engine_hooks import requests_seen
from tests.support.erp import adjust, hold, offset, stock_set


def test_every_read_but_an_index_query_is_strongly_consistent(
    erp: ErpService, service: ReservationService, clock: ManualClock, moto_client: Any
) -> None:
    with requests_seen(moto_client) as seen:
        erp.apply(stock_set(10, sequence=1))
        hold(service, "r1", 2)
        clock.advance(1)
        hold(service, "r2", 2)
        service.get("r1")
        service.inventory("A")
        service.stock_level("A", "WH1")
        service.holds_on_sku("A")
        service.release("r2", [LineQuantity("A", "WH1", 1)])
        erp.apply(offset("by-id", 1, "r1"))
        erp.apply(offset("auto", 2))
        erp.apply(adjust("damage", -1))
        service.sweep()
    reads = [(op, p) for op, p in seen if op in ("GetItem", "Query", "Scan")]
    on_table = [(op, p) for op, p in reads if "IndexName" not in p]
    on_index = [(op, p) for op, p in reads if "IndexName" in p]
    # Every kind of read happened, or this proves nothing.
    assert {op for op, _ in on_table} == {"GetItem", "Query"}
    assert {p["IndexName"] for _, p in on_index} == {"SkuHoldsIndex", "ExpiryIndex"}
    eventual = [(op, p) for op, p in on_table if p.get("ConsistentRead") is not True]
    assert eventual == []


def test_a_refused_claim_costs_one_request_when_the_engine_returns_the_item(
    moto_client: Any, moto_table: str
) -> None:
    ledger = Store(moto_client, moto_table).receipts
    message = Receipt("offset", "auto-1", "fingerprint-1")
    claim = ledger.claim(message, 100, 200)
    with requests_seen(moto_client) as seen, pytest.raises(MessageInProgress):
        ledger.claim(message, 101, 201)
    ledger.complete(claim, 3, 102)
    with requests_seen(moto_client) as finished, pytest.raises(AlreadyApplied) as done:
        ledger.claim(message, 103, 203)
    assert done.value.existing.applied == 3
    assert [op for op, _ in seen] == ["PutItem"]
    assert [op for op, _ in finished] == ["PutItem"]


class _Unprocessing:
    """A client whose first BatchGetItem leaves every key unprocessed, as DynamoDB may when
    a partition is busy."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.requests: list[dict[str, Any]] = []

    def batch_get_item(self, **params: Any) -> Any:
        self.requests.append(params)
        if len(self.requests) == 1:
            return {"Responses": {}, "UnprocessedKeys": params["RequestItems"]}
        return self.real.batch_get_item(**params)


def test_allocation_reads_what_it_needs_and_asks_again_for_unprocessed_keys(
    erp: ErpService, moto_client: Any, moto_table: str
) -> None:
    erp.apply(stock_set(10, sequence=1))
    client = _Unprocessing(moto_client)
    counts = Store(client, moto_table).stock.get_counts([("A", "WH1"), ("A", "WH1"), ("B", "X")])
    assert counts == {("A", "WH1"): (10, 0)}
    assert len(client.requests) == 2
    [asked] = client.requests[1]["RequestItems"].values()
    assert len(asked["Keys"]) == 2  # the repeated key asked once
    assert asked["ConsistentRead"] is True
    # serialized: a record made of labels has nothing to allocate from (issue 16)
    assert (
        asked["ProjectionExpression"]
        == "sku, #location, available, reserved, serialized, bucketsEver"
    )


class _Sparse(_Unprocessing):
    """As ``_Unprocessing``, from an engine that leaves out a map with nothing in it: the
    first answer has no ``Responses``, the second no ``UnprocessedKeys``."""

    def batch_get_item(self, **params: Any) -> Any:
        answer = dict(super().batch_get_item(**params))
        if len(self.requests) == 1:
            del answer["Responses"]
        else:
            answer.pop("UnprocessedKeys", None)
        return answer


def test_allocation_reads_an_answer_that_leaves_out_empty_maps(
    erp: ErpService, moto_client: Any, moto_table: str
) -> None:
    erp.apply(stock_set(10, sequence=1))
    client = _Sparse(moto_client)
    assert Store(client, moto_table).stock.get_counts([("A", "WH1")]) == {("A", "WH1"): (10, 0)}
    assert len(client.requests) == 2


class _Busy(_Unprocessing):
    """Every BatchGetItem leaves every key unprocessed."""

    def batch_get_item(self, **params: Any) -> Any:
        self.requests.append(params)
        return {"Responses": {}, "UnprocessedKeys": params["RequestItems"]}


def test_unprocessed_keys_are_asked_again_after_doubling_pauses_then_given_up(
    moto_client: Any, moto_table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    pauses: list[float] = []
    monkeypatch.setattr("reservations.store.stock.time.sleep", pauses.append)
    client = _Busy(moto_client)
    with pytest.raises(Contention) as busy:
        Store(client, moto_table).stock.get_counts([("A", "WH1")])
    assert str(busy.value) == "stock records could not be read in time; try again"
    assert len(client.requests) == UNPROCESSED_ROUNDS
    assert pauses[: UNPROCESSED_ROUNDS - 1] == pytest.approx([0.02, 0.04, 0.08, 0.16, 0.32])
