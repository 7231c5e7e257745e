"""The ERP function fed SQS batches as Lambda's event source hands them, on both engines.

Poison messages go to a real FIFO dead-letter queue on moto server (SQS) whatever the
DynamoDB engine.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

import erp_function
from local.apigw import LambdaContext
from local.aws_events import erp_queue_arn, fifo_message, sqs_event, sqs_record
from local.engines import Engine
from local.queues import ErpQueues, ensure_queues
from reservations.clock import ManualClock
from reservations.dead_letters import DeadLetterQueue
from reservations.erp import ErpService
from reservations.erp_messages import StockAdjust
from reservations.store.notices import DeadLetterNotices
from reservations.store.retry import RetryPolicy
from tests.conftest import make_erp_service, sqs_client_for
from tests.support.api_client import HandlerClient
from tests.support.invariants import check_invariants


@dataclass
class Delivery:
    """Messages as SQS holds them: each delivery of one carries the same messageId."""

    records: list[dict[str, Any]] = field(default_factory=list)

    def add(self, body: dict[str, Any] | str, group: str | None = None) -> dict[str, Any]:
        text = body if isinstance(body, str) else json.dumps(body)
        if group is None:
            group = body["sku"] if isinstance(body, dict) else "unknown"
        record = sqs_record(fifo_message(text, group), erp_queue_arn())
        self.records.append(record)
        return record


def message(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "schemaVersion": 1, "location": "WH1", **fields}


def nested_message(levels: int) -> str:
    """A stock.set whose onHand is an array nested ``levels`` deep."""
    head = json.dumps(message("stock.set", sku="A", sequence=1))[:-1]
    return f'{head}, "onHand": {"[" * levels}{"]" * levels}}}'


@pytest.fixture
def erp(
    engine_client: Any, engine_table: str, clock: ManualClock, fast_retries: RetryPolicy
) -> ErpService:
    return make_erp_service(engine_client, engine_table, clock, fast_retries)


@pytest.fixture
def queues(moto_server: Engine) -> ErpQueues:
    return ensure_queues(sqs_client_for(moto_server.endpoint), prefix=f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture
def metrics_seen(monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    seen: dict[str, float] = {}

    def record(name: str, unit: Any, value: float) -> None:
        seen[name] = seen.get(name, 0) + value

    monkeypatch.setattr(erp_function.metrics, "add_metric", record)
    return seen


@pytest.fixture
def deliver(
    erp: ErpService,
    queues: ErpQueues,
    moto_server: Engine,
    engine_client: Any,
    engine_table: str,
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[list[dict[str, Any]]], list[str]]:
    monkeypatch.setattr(erp_function, "erp", erp)
    monkeypatch.setattr(erp_function, "notices", DeadLetterNotices(engine_client, engine_table, 60))
    monkeypatch.setattr(
        erp_function,
        "dead_letters",
        DeadLetterQueue(sqs_client_for(moto_server.endpoint), queues.dead_letter_url),
    )

    def run(records: list[dict[str, Any]]) -> list[str]:
        response = erp_function.lambda_handler(sqs_event(records), LambdaContext("erp"))
        return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]

    return run


@pytest.fixture
def dead_letters(queues: ErpQueues, moto_server: Engine) -> Callable[[], list[dict[str, Any]]]:
    sqs = sqs_client_for(moto_server.endpoint)

    def drain() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while batch := sqs.receive_message(
            QueueUrl=queues.dead_letter_url,
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
        ).get("Messages"):
            found += batch
            sqs.delete_message_batch(
                QueueUrl=queues.dead_letter_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)
                ],
            )
        return found

    return drain


def level(api: HandlerClient, sku: str, location: str = "WH1") -> tuple[int, int, int]:
    body = api.get(f"/inventory/{sku}").json
    [stock] = [x for x in body["locations"] if x["location"] == location]
    return stock["onHand"], stock["reserved"], stock["available"]


def reserve(api: HandlerClient, rid: str, sku: str, quantity: int) -> None:
    body = {"id": rid, "items": [{"sku": sku, "location": "WH1", "quantity": quantity}]}
    assert api.post("/reservations", body).status == 201


# --- partial batch responses ----------------------------------------------------------------


def test_a_transient_failure_fails_its_record_and_the_rest_of_its_sku_only(
    deliver: Callable[[list[dict[str, Any]]], list[str]],
    api: HandlerClient,
    monkeypatch: pytest.MonkeyPatch,
    engine_client: Any,
    engine_table: str,
) -> None:
    batch = Delivery()
    batch.add(message("stock.set", sku="A", onHand=10, sequence=1))
    batch.add(message("stock.set", sku="B", onHand=5, sequence=1))
    flaky = batch.add(message("stock.adjust", adjustmentId="adj-a1", sku="A", delta=3))
    after_flaky = batch.add(message("stock.adjust", adjustmentId="adj-a2", sku="A", delta=1))
    batch.add(message("stock.adjust", adjustmentId="adj-b1", sku="B", delta=2))

    original = ErpService.adjust_stock
    outage = {"on": True}

    def throttled(self: ErpService, msg: StockAdjust) -> Any:
        if outage["on"] and msg.adjustmentId == "adj-a1":
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "slow down"}},
                "TransactWriteItems",
            )
        return original(self, msg)

    monkeypatch.setattr(ErpService, "adjust_stock", throttled)
    failed = deliver(batch.records)
    # SQS redelivers the failed record and, to keep the sku's order, the ones after it.
    assert failed == [flaky["messageId"], after_flaky["messageId"]]
    assert level(api, "A") == (10, 0, 10)
    assert level(api, "B") == (7, 0, 7)

    outage["on"] = False
    assert deliver([flaky, after_flaky]) == []
    assert level(api, "A") == (14, 0, 14)
    check_invariants(engine_client, engine_table)


def test_redelivered_batches_change_nothing(
    deliver: Callable[[list[dict[str, Any]]], list[str]],
    api: HandlerClient,
    engine_client: Any,
    engine_table: str,
) -> None:
    batch = Delivery()
    batch.add(message("stock.set", sku="A", onHand=10, sequence=1))
    batch.add(message("stock.adjust", adjustmentId="grn-1", sku="A", delta=5))
    assert deliver(batch.records) == []
    reserve(api, "r1", "A", 4)
    offsets = Delivery()
    offsets.add(
        message("reservation.offset", offsetId="off-1", reservationId="r1", sku="A", quantity=3)
    )
    for _ in range(3):  # at least once: the same records again, as after a crash
        assert deliver(batch.records + offsets.records) == []
    assert level(api, "A") == (12, 1, 11)
    held = api.get("/reservations/r1").json["items"][0]
    assert (held["held"], held["consumed"], held["offset"]) == (1, 3, 3)
    check_invariants(engine_client, engine_table)


def test_late_and_replayed_stock_sets_never_roll_stock_back(
    deliver: Callable[[list[dict[str, Any]]], list[str]],
    api: HandlerClient,
    metrics_seen: dict[str, float],
) -> None:
    batch = Delivery()
    for on_hand, sequence in [(30, 3), (10, 1), (20, 2), (30, 3)]:
        batch.add(message("stock.set", sku="A", onHand=on_hand, sequence=sequence))
    assert deliver(batch.records) == []
    assert level(api, "A") == (30, 0, 30)
    assert metrics_seen == {"ErpMessagesApplied": 1, "ErpStockSetsStale": 3}


def test_auto_offset_through_the_handler_covers_the_oldest_holds(
    deliver: Callable[[list[dict[str, Any]]], list[str]],
    api: HandlerClient,
    clock: ManualClock,
    engine_client: Any,
    engine_table: str,
    metrics_seen: dict[str, float],
) -> None:
    setup = Delivery()
    setup.add(message("stock.set", sku="A", onHand=10, sequence=1))
    assert deliver(setup.records) == []
    for rid in ("first", "second", "third"):
        reserve(api, rid, "A", 2)
        clock.advance(5)
    batch = Delivery()
    batch.add(message("reservation.offset", offsetId="pick-1", sku="A", quantity=7))
    assert deliver(batch.records) == []
    statuses = {
        rid: api.get(f"/reservations/{rid}").json["status"] for rid in ("first", "second", "third")
    }
    assert statuses == {"first": "FULFILLED", "second": "FULFILLED", "third": "FULFILLED"}
    assert level(api, "A") == (4, 0, 4)
    assert metrics_seen["ErpOffsetExcess"] == 1  # 7 asked, 6 held
    assert deliver(batch.records) == []
    assert level(api, "A") == (4, 0, 4)
    check_invariants(engine_client, engine_table)


# --- poison and negative stock --------------------------------------------------------------


def test_poison_messages_are_dead_lettered_with_their_reason_and_the_rest_goes_on(
    deliver: Callable[[list[dict[str, Any]]], list[str]],
    api: HandlerClient,
    dead_letters: Callable[[], list[dict[str, Any]]],
    metrics_seen: dict[str, float],
) -> None:
    batch = Delivery()
    poison = {
        "malformed": batch.add("{not json", group="A"),
        "unknown type": batch.add(message("stock.wipe", sku="A"), group="A"),
        "schema": batch.add(message("stock.set", sku="A", onHand=-1, sequence=1)),
        "unknown reservation": batch.add(
            message(
                "reservation.offset", offsetId="o-1", reservationId="ghost", sku="A", quantity=1
            )
        ),
        # json.loads would raise RecursionError, which is no parse error: never retry it.
        "nested too deep": batch.add(nested_message(5000), group="A"),
    }
    batch.add(message("stock.set", sku="A", onHand=9, sequence=2))
    assert deliver(batch.records) == []  # handled: dead-lettered, not retried
    assert level(api, "A") == (9, 0, 9)
    dead = {m["MessageAttributes"]["sourceMessageId"]["StringValue"]: m for m in dead_letters()}
    reasons = {
        kind: dead[record["messageId"]]["MessageAttributes"]["failureReason"]["StringValue"]
        for kind, record in poison.items()
    }
    assert reasons["malformed"].startswith("body is not JSON")
    assert reasons["unknown type"].startswith("type: unknown message type 'stock.wipe'")
    assert (
        reasons["schema"]
        == "stock.set message is invalid: onHand: Input should be greater than or equal to 0"
    )
    assert reasons["unknown reservation"] == "reservationId: reservation 'ghost' does not exist"
    assert reasons["nested too deep"] == "body: JSON nests deeper than 32 levels"
    assert dead[poison["malformed"]["messageId"]]["Body"] == "{not json"  # as it arrived
    assert dead[poison["schema"]["messageId"]]["Attributes"]["MessageGroupId"] == "A"
    assert metrics_seen["ErpMessagesDeadLettered"] == 5


def test_a_poison_message_stays_in_the_queue_when_the_dead_letter_queue_is_unreachable(
    deliver: Callable[[list[dict[str, Any]]], list[str]],
    api: HandlerClient,
    moto_server: Engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    missing = f"{moto_server.endpoint}/123456789012/no-such-queue.fifo"
    monkeypatch.setattr(
        erp_function, "dead_letters", DeadLetterQueue(sqs_client_for(moto_server.endpoint), missing)
    )
    batch = Delivery()
    poison = batch.add("{not json", group="A")
    batch.add(message("stock.set", sku="B", onHand=1, sequence=1))
    # Never lost: the record fails, SQS keeps it and its redrive policy takes over.
    assert deliver(batch.records) == [poison["messageId"]]
    assert level(api, "B") == (1, 0, 1)  # the other sku's message took effect


def test_negative_stock_from_the_erp_is_shown_and_measured(
    deliver: Callable[[list[dict[str, Any]]], list[str]],
    api: HandlerClient,
    metrics_seen: dict[str, float],
) -> None:
    setup = Delivery()
    setup.add(message("stock.set", sku="A", onHand=5, sequence=1))
    assert deliver(setup.records) == []
    reserve(api, "r1", "A", 5)
    counted = Delivery()
    counted.add(message("stock.set", sku="A", onHand=2, sequence=2))
    counted.add(message("stock.adjust", adjustmentId="damaged-1", sku="A", delta=-1))
    assert deliver(counted.records) == []
    assert level(api, "A") == (1, 5, -4)
    assert api.get("/inventory/A").json["available"] == -4
    assert metrics_seen["NegativeAvailable"] == 3 + 4  # one report per update that left it short
