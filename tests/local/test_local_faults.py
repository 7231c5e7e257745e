"""Worker processes of the local stack killed with SIGKILL, as Lambda survives it.

In Lambda a crash fails only its own invocation: the API request, the scheduled run or the
SQS batch it was running. Every other request is answered, the next run and the next
batch go on, and a batch whose invocation died comes back after its visibility timeout.
The engine sits behind a ``Gate`` so a test can catch a worker inside a call the engine
has already applied, and kill it there.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import pytest

from local.engines import Engine
from local.queue_consumer import QueueConsumer
from local.queues import ensure_queues
from local.schedule import ScheduledFunction
from local.server import LocalApi
from reservations.clock import SystemClock
from reservations.commands import ReserveLine, ReserveRequest
from reservations.config import Settings
from reservations.service import ReservationService
from reservations.store import Store
from reservations.store.retry import RetryPolicy
from tests.conftest import client_for, fresh_table, sqs_client_for
from tests.local.test_local_server import gone, workers_of_this_process
from tests.support.gate import Gate
from tests.support.invariants import check_invariants
from tests.support.local_stack import Reply, call


@pytest.fixture
def gate(moto_server: Engine) -> Iterator[Gate]:
    proxy = Gate(moto_server.endpoint)
    yield proxy
    proxy.close()


@pytest.fixture
def table(moto_server: Engine) -> Iterator[str]:
    yield from fresh_table(client_for(moto_server.endpoint))


@pytest.fixture
def service(moto_server: Engine, table: str) -> ReservationService:
    """The service on the engine itself (not through the gate), on the real clock the
    stack's functions read."""
    store = Store(client_for(moto_server.endpoint), table)
    return ReservationService(store, SystemClock(), Settings(table_name=table), RetryPolicy())


def hold(service: ReservationService, sku: str, quantity: int, expires_in: int) -> str:
    request = ReserveRequest((ReserveLine(sku, "WH1", quantity),), expires_in_seconds=expires_in)
    return service.reserve(request, "storefront").reservation.id


def stock(service: ReservationService, sku: str) -> tuple[int, int, int]:
    level = service.inventory(sku).locations[0]
    return level.on_hand, level.reserved, level.available


def available(service: ReservationService, sku: str) -> int:
    return stock(service, sku)[2]


def eventually(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


def the_only_worker() -> int:
    [pid] = workers_of_this_process()
    return pid


# --- the API ------------------------------------------------------------------------------


def test_a_worker_killed_mid_request_fails_only_that_request(gate: Gate, table: str) -> None:
    env = {"AWS_ENDPOINT_URL_DYNAMODB": gate.endpoint, "TABLE_NAME": table}
    skus = [f"SKU-{n}" for n in range(4)]
    with LocalApi(port=0, workers=2, env=env, quiet=True) as api:
        for sku in skus:
            assert (
                call("PUT", f"{api.url}/inventory/{sku}/locations/WH1", {"onHand": 1}).status == 200
            )
        workers = workers_of_this_process()
        assert len(workers) == 2

        def reserve(sku: str) -> Reply:
            line = {"sku": sku, "location": "WH1", "quantity": 1}
            return call("POST", f"{api.url}/reservations", {"id": f"r-{sku}", "items": [line]})

        def each_worker_waits() -> bool:
            return all(gate.holds_answer_for(worker) for worker in workers)

        gate.hold()
        with ThreadPoolExecutor(max_workers=4) as clients:
            # Two in flight, one per worker, and two queued behind them.
            replies: dict[Future[Reply], str] = {clients.submit(reserve, sku): sku for sku in skus}
            # Both workers are inside a reserve whose transaction the engine has applied.
            eventually(each_worker_waits, 30, "not every worker waits for an answer")
            victim = min(workers)
            os.kill(victim, signal.SIGKILL)
            # Its request is answered at once; the other worker's still waits at the gate.
            wait(replies, timeout=20, return_when=FIRST_COMPLETED)
            time.sleep(0.5)  # any other answer the kill would wrongly cause arrives meanwhile
            answered = [future for future in replies if future.done()]
            assert len(answered) == 1, [future.result().status for future in answered]
            [killed] = answered
            assert killed.result().status == 502
            assert killed.result().json == {"message": "Internal server error"}
            gate.release()
            others = {replies[f]: f.result().status for f in replies if f is not killed}
        assert others == dict.fromkeys(others, 201), others
        # A crash does not undo what the engine had applied, in Lambda or here: the killed
        # request's reservation holds its stock, and its client's retry with the id finds it.
        assert call("GET", f"{api.url}/reservations/r-{replies[killed]}").status == 200
        for sku in skus:
            assert call("GET", f"{api.url}/inventory/{sku}").json["reserved"] == 1, sku
        # Only the killed worker was replaced; the other one kept serving.
        eventually(lambda: len(workers_of_this_process()) == 2, 60, "no new worker started")
        now = workers_of_this_process()
        assert victim not in now
        assert max(workers) in now
        assert call("GET", f"{api.url}/inventory/{skus[0]}").status == 200


def test_a_worker_killed_between_requests_fails_no_request(gate: Gate, table: str) -> None:
    env = {"AWS_ENDPOINT_URL_DYNAMODB": gate.endpoint, "TABLE_NAME": table}
    with LocalApi(port=0, workers=2, env=env, quiet=True) as api:
        workers = workers_of_this_process()
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        assert gone({victim})
        # It was running nothing: no request fails, in Lambda or here.
        statuses = [call("GET", f"{api.url}/openapi.json").status for _ in range(6)]
        assert statuses == [200] * 6
        eventually(lambda: len(workers_of_this_process()) == 2, 60, "no new worker started")
        assert max(workers) in workers_of_this_process()


def test_a_request_past_the_integration_timeout_gets_504_and_its_worker_is_replaced(
    gate: Gate, table: str
) -> None:
    env = {"AWS_ENDPOINT_URL_DYNAMODB": gate.endpoint, "TABLE_NAME": table}
    with LocalApi(port=0, workers=1, env=env, quiet=True, integration_timeout=1.0) as api:
        stuck = the_only_worker()
        gate.hold()
        reply = call("GET", f"{api.url}/inventory/HOT")
        assert reply.status == 504
        assert reply.json == {"message": "Endpoint request timed out"}
        assert gone({stuck})  # killed, as Lambda ends an invocation that runs too long
        gate.release()
        # A new worker answers once started (its cold start counts against the timeout).
        eventually(
            lambda: call("GET", f"{api.url}/inventory/HOT").status == 404, 60, "no new worker"
        )
        assert the_only_worker() != stuck


# --- the background functions -------------------------------------------------------------


def test_the_sweeper_replaces_a_worker_killed_mid_run_and_keeps_expiring(
    gate: Gate, table: str, service: ReservationService
) -> None:
    env = {"AWS_ENDPOINT_URL_DYNAMODB": gate.endpoint, "TABLE_NAME": table}
    sweeper = ScheduledFunction("sweeper", 0.2, env, quiet=True)
    sweeper.start()
    try:
        gate.hold()
        gate.wait_held(1)  # a run is in the middle of its queries
        victim = the_only_worker()
        os.kill(victim, signal.SIGKILL)
        gate.release()
        service.set_on_hand("ABANDONED", "WH1", 3)
        hold(service, "ABANDONED", 3, expires_in=1)
        assert available(service, "ABANDONED") == 0
        eventually(
            lambda: available(service, "ABANDONED") == 3,
            30,
            "the sweeper stopped expiring holds after its worker was killed",
        )
        assert the_only_worker() != victim
    finally:
        sweeper.stop()


def test_the_erp_consumer_survives_its_worker_killed_during_an_auto_offset(
    gate: Gate, moto_server: Engine, table: str, service: ReservationService
) -> None:
    sqs = sqs_client_for(moto_server.endpoint)
    queues = ensure_queues(sqs, prefix=f"k{uuid.uuid4().hex[:10]}", visibility_timeout=1,
                           max_receive=20)  # fmt: skip
    env = {
        "AWS_ENDPOINT_URL_DYNAMODB": gate.endpoint,
        "AWS_ENDPOINT_URL_SQS": moto_server.endpoint,
        "TABLE_NAME": table,
        "ERP_DEAD_LETTER_QUEUE_URL": queues.dead_letter_url,
        # The killed delivery's claim on the offset is taken over once its lease runs out.
        "ERP_CLAIM_LEASE_SECONDS": "2",
    }
    service.set_on_hand("A", "WH1", 10)
    for _ in range(2):
        hold(service, "A", 2, expires_in=3600)

    def send(body: dict[str, Any]) -> None:
        sqs.send_message(
            QueueUrl=queues.url,
            MessageGroupId="A",
            MessageBody=json.dumps({"schemaVersion": 1, "sku": "A", "location": "WH1", **body}),
            MessageDeduplicationId=uuid.uuid4().hex,
        )

    consumer = QueueConsumer("erp", sqs, queues.url, queues.arn, env, quiet=True)
    consumer.start()
    try:
        gate.hold()
        send({"type": "reservation.offset", "offsetId": "pick-1", "quantity": 3})
        gate.wait_held(1)  # its claim on the offset is written; the answer waits
        victim = the_only_worker()
        os.kill(victim, signal.SIGKILL)
        gate.release()
        # Back after its visibility timeout, taken over once the dead delivery's lease ran
        # out, and applied once: 3 of the 4 held units leave, and on-hand with them.
        eventually(lambda: stock(service, "A") == (7, 1, 6), 60, "the offset never applied")
        assert the_only_worker() != victim
        # Later messages go on. (Sent only now: moto may hand a FIFO group's messages that
        # failed in one batch back out of order, which SQS never does.)
        send({"type": "stock.set", "onHand": 20, "sequence": 1})
        consumer.wait_idle(timeout=60)
    finally:
        consumer.stop()
    assert stock(service, "A") == (20, 1, 19)
    assert consumer.stats.failed >= 1  # the batch whose worker died was kept, not deleted
    dead = sqs.receive_message(QueueUrl=queues.dead_letter_url, WaitTimeSeconds=1)
    assert dead.get("Messages", []) == []
    check_invariants(client_for(moto_server.endpoint), table)
