"""The ERP function behind a real FIFO queue (moto server), fed by the local event source
as Lambda's would be: batches, partial failures, visibility timeout and redrive."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from local.engines import Engine
from local.queue_consumer import QueueConsumer
from local.queues import ErpQueues, ensure_queues
from reservations.store import Store
from tests.api.test_erp_function import nested_message
from tests.conftest import client_for, fresh_table, sqs_client_for
from tests.support.invariants import check_invariants


@pytest.fixture
def sqs(moto_server: Engine) -> Any:
    return sqs_client_for(moto_server.endpoint)


def queues_for(sqs: Any, visibility: int, max_receive: int) -> ErpQueues:
    return ensure_queues(
        sqs,
        prefix=f"q{uuid.uuid4().hex[:10]}",
        visibility_timeout=visibility,
        max_receive=max_receive,
    )


def consumer(
    sqs: Any, queues: ErpQueues, engine: Engine, moto_server: Engine, table: str
) -> QueueConsumer:
    env = {
        "AWS_ENDPOINT_URL_DYNAMODB": engine.endpoint,
        "AWS_ENDPOINT_URL_SQS": moto_server.endpoint,
        "TABLE_NAME": table,
        "ERP_DEAD_LETTER_QUEUE_URL": queues.dead_letter_url,
    }
    return QueueConsumer("erp", sqs, queues.url, queues.arn, env, quiet=True)


@pytest.fixture
def running() -> Iterator[list[QueueConsumer]]:
    started: list[QueueConsumer] = []
    yield started
    for each in started:
        each.stop()


def send(sqs: Any, queues: ErpQueues, body: dict[str, Any]) -> None:
    sqs.send_message(
        QueueUrl=queues.url,
        MessageGroupId=body["sku"],
        MessageBody=json.dumps(body),
        MessageDeduplicationId=uuid.uuid4().hex,  # every send a new delivery, as a resend is
    )


def msg(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "schemaVersion": 1, "location": "WH1", **fields}


def test_messages_take_effect_once_through_the_event_source(
    sqs: Any,
    engine: Engine,
    moto_server: Engine,
    engine_client: Any,
    engine_table: str,
    running: list[QueueConsumer],
) -> None:
    queues = queues_for(sqs, visibility=2, max_receive=3)
    for sku in ("A", "B", "C"):
        send(sqs, queues, msg("stock.set", sku=sku, onHand=10, sequence=1))
        for n in range(4):
            adjustment = msg("stock.adjust", adjustmentId=f"{sku}-{n}", sku=sku, delta=1)
            send(sqs, queues, adjustment)
            send(sqs, queues, adjustment)  # the ERP resent it: SQS delivers it again
        send(sqs, queues, msg("stock.set", sku=sku, onHand=3, sequence=0))  # late snapshot
    source = consumer(sqs, queues, engine, moto_server, engine_table)
    source.start()
    running.append(source)
    source.wait_idle(timeout=60)
    source.stop()  # its counts are final once its thread is done
    table = Store(engine_client, engine_table)
    for sku in ("A", "B", "C"):
        level = table.stock.get_level(sku, "WH1")
        assert level is not None
        assert (level.on_hand, level.available) == (14, 14), sku
    assert source.stats.records == 30
    assert source.stats.deleted == 30
    assert max(source.stats.batch_sizes) <= 10
    check_invariants(engine_client, engine_table)


def test_a_message_that_keeps_failing_is_redriven_to_the_dead_letter_queue(
    sqs: Any, engine: Engine, moto_server: Engine, running: list[QueueConsumer]
) -> None:
    queues = queues_for(sqs, visibility=1, max_receive=2)
    # No such table: every delivery fails for a reason retrying could cure (an outage).
    source = consumer(sqs, queues, engine, moto_server, "no-such-table")
    source.start()
    running.append(source)
    send(sqs, queues, msg("stock.set", sku="A", onHand=1, sequence=1))
    deadline = time.monotonic() + 30
    dead: list[dict[str, Any]] = []
    while not dead:
        assert time.monotonic() < deadline, "the failing message was never redriven"
        dead = sqs.receive_message(
            QueueUrl=queues.dead_letter_url,
            MessageAttributeNames=["All"],
            AttributeNames=["All"],
            WaitTimeSeconds=1,
        ).get("Messages", [])
    assert json.loads(dead[0]["Body"])["type"] == "stock.set"
    # Moved by the redrive policy, not by the function: no failureReason of its own.
    assert "failureReason" not in (dead[0].get("MessageAttributes") or {})
    source.stop()
    assert source.stats.failed >= 2 and source.stats.deleted == 0


def test_a_message_nested_too_deep_is_dead_lettered_on_its_first_receive(
    sqs: Any, moto_server: Engine, running: list[QueueConsumer]
) -> None:
    # A failure for now would be back only after 30 s, holding its group's next message.
    queues = queues_for(sqs, visibility=30, max_receive=5)
    client = client_for(moto_server.endpoint)
    for table in fresh_table(client):
        source = consumer(sqs, queues, moto_server, moto_server, table)
        source.start()
        running.append(source)
        sqs.send_message(
            QueueUrl=queues.url,
            MessageGroupId="A",
            MessageBody=nested_message(5000),
            MessageDeduplicationId=uuid.uuid4().hex,
        )
        send(sqs, queues, msg("stock.set", sku="A", onHand=9, sequence=1))
        source.wait_idle(timeout=20)
        source.stop()
        level = Store(client, table).stock.get_level("A", "WH1")
        assert level is not None and level.on_hand == 9  # its group went on
    [dead] = sqs.receive_message(
        QueueUrl=queues.dead_letter_url, MessageAttributeNames=["All"], WaitTimeSeconds=1
    )["Messages"]
    assert dead["Body"] == nested_message(5000)
    reason = dead["MessageAttributes"]["failureReason"]["StringValue"]
    assert reason == "body: JSON nests deeper than 32 levels"
    assert (source.stats.records, source.stats.deleted, source.stats.failed) == (2, 2, 0)
