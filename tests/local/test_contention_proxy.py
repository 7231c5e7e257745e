"""The contention proxy over HTTP, in front of a fake engine the test controls: what
botocore and the store make of its answers, and that it changes nothing else."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from local.contention import CapacityMode, ContentionProxy, Latency, Limits
from reservations.store.transact import (
    TransactionCancelled,
    WriteConflict,
    conflict_or,
    transact,
)
from tests.support.clients import aws_client

TABLE = "reservations-x"
STOCK_KEY = {"PK": {"S": "SKU#HOT"}, "SK": {"S": "LOC#WH1"}}
HELD = "held"  # a header id whose transaction the fake engine keeps in flight


class FakeEngine(ThreadingHTTPServer):
    """Answers every request with ``{}``; a transaction naming HELD waits for ``go``."""

    daemon_threads = True

    def __init__(self) -> None:
        self.seen: list[tuple[dict[str, str], bytes]] = []
        self.holding = threading.Event()
        self.go = threading.Event()
        super().__init__(("127.0.0.1", 0), _FakeHandler)


class _FakeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        engine: FakeEngine = self.server  # type: ignore[assignment]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        engine.seen.append((dict(self.headers.items()), body))
        if HELD.encode() in body:
            engine.holding.set()
            engine.go.wait(timeout=30)
        payload = b'{"Answer":"from the engine"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("x-amzn-RequestId", "engine-id")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    server = FakeEngine()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.go.set()
    server.shutdown()
    server.server_close()


def proxy_for(engine: FakeEngine, **options: Any) -> ContentionProxy:
    return ContentionProxy(f"http://127.0.0.1:{engine.server_address[1]}", **options)


def client(endpoint: str) -> Any:
    # One attempt: what the proxy answers, not what botocore's retries make of it.
    config = Config(retries={"mode": "standard", "max_attempts": 1})
    return aws_client("dynamodb", endpoint, config)


def reserve_items(reservation_id: str) -> list[dict[str, Any]]:
    return [
        {
            "Put": {
                "TableName": TABLE,
                "Item": {"PK": {"S": f"RES#{reservation_id}"}, "SK": {"S": "RES"}},
            }
        },
        {
            "Update": {
                "TableName": TABLE,
                "Key": STOCK_KEY,
                "UpdateExpression": "SET reserved = reserved + :q",
                "ExpressionAttributeValues": {":q": {"N": "1"}},
            }
        },
    ]


def hold_in_flight(engine: FakeEngine, proxy: ContentionProxy) -> ThreadPoolExecutor:
    """A transaction on the stock item that stays in flight until ``engine.go``."""
    pool = ThreadPoolExecutor(1)
    pool.submit(transact, client(proxy.endpoint), reserve_items(HELD), "token-held")
    assert engine.holding.wait(timeout=10)
    return pool


def test_a_racing_transaction_is_cancelled_and_the_store_reads_why(engine: FakeEngine) -> None:
    with proxy_for(engine) as proxy:
        pool = hold_in_flight(engine, proxy)
        with pytest.raises(TransactionCancelled) as cancelled:
            transact(client(proxy.endpoint), reserve_items("second"), "token-2")
        engine.go.set()
        pool.shutdown(wait=True)
        # Transaction 1 reached the engine; transaction 2 never did.
        assert [HELD.encode() in body for _, body in engine.seen] == [True]
    codes = [reason.code for reason in cancelled.value.reasons]
    assert codes == ["None", "TransactionConflict"]
    assert isinstance(conflict_or(cancelled.value), WriteConflict)


def test_a_plain_write_on_the_item_of_an_ongoing_transaction_is_rejected(
    engine: FakeEngine,
) -> None:
    with proxy_for(engine) as proxy:
        pool = hold_in_flight(engine, proxy)
        dynamodb = client(proxy.endpoint)
        with pytest.raises(ClientError) as rejected:
            dynamodb.update_item(
                TableName=TABLE,
                Key=STOCK_KEY,
                UpdateExpression="SET onHand = :n",
                ExpressionAttributeValues={":n": {"N": "5"}},
            )
        # A read of the same item is not a conflict ("both can succeed").
        assert dynamodb.get_item(TableName=TABLE, Key=STOCK_KEY)["ResponseMetadata"]
        engine.go.set()
        pool.shutdown(wait=True)
        dynamodb.update_item(
            TableName=TABLE,
            Key=STOCK_KEY,
            UpdateExpression="SET onHand = :n",
            ExpressionAttributeValues={":n": {"N": "5"}},
        )
    error = rejected.value.response["Error"]
    assert error["Code"] == "TransactionConflictException"
    assert rejected.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_a_transaction_over_the_partition_throughput_is_cancelled_as_throttled(
    engine: FakeEngine,
) -> None:
    # 4 units a second, a second's worth in the bucket: two transactional writes.
    limits = Limits(conflicts=False, partition_wcu_per_second=4)
    with proxy_for(engine, limits=limits) as proxy:
        dynamodb = client(proxy.endpoint)
        transact(dynamodb, reserve_items("a"), "t-a")
        transact(dynamodb, reserve_items("b"), "t-b")
        with pytest.raises(TransactionCancelled) as throttled:
            transact(dynamodb, reserve_items("c"), "t-c")
    assert [r.code for r in throttled.value.reasons] == ["None", "ThrottlingError"]
    assert isinstance(conflict_or(throttled.value), WriteConflict)


@pytest.mark.parametrize(
    ("mode", "code", "field"),
    [
        (CapacityMode.ON_DEMAND, "ThrottlingException", "throttlingReasons"),
        (CapacityMode.PROVISIONED, "ProvisionedThroughputExceededException", "ThrottlingReasons"),
    ],
)
def test_a_plain_write_over_the_partition_throughput_is_throttled(
    engine: FakeEngine, mode: CapacityMode, code: str, field: str
) -> None:
    limits = Limits(conflicts=False, partition_wcu_per_second=1)
    with proxy_for(engine, limits=limits, mode=mode) as proxy:
        dynamodb = client(proxy.endpoint)
        item = {**STOCK_KEY, "onHand": {"N": "1"}}
        dynamodb.put_item(TableName=TABLE, Item=item)
        with pytest.raises(ClientError) as throttled:
            dynamodb.put_item(TableName=TABLE, Item=item)
    assert throttled.value.response["Error"]["Code"] == code
    assert throttled.value.response[field][0]["reason"] == ("TableWriteKeyRangeThroughputExceeded")


def test_everything_else_goes_through_unchanged(engine: FakeEngine) -> None:
    with proxy_for(engine) as proxy:
        dynamodb = client(proxy.endpoint)
        answer = dynamodb.query(
            TableName=TABLE,
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues={":pk": {"S": "SKU#HOT"}},
        )
        assert answer["ResponseMetadata"]["RequestId"] == "engine-id"
    headers, body = engine.seen[-1]
    assert headers["X-Amz-Target"] == "DynamoDB_20120810.Query"
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert json.loads(body)["ExpressionAttributeValues"] == {":pk": {"S": "SKU#HOT"}}


def test_a_latency_is_added_while_the_items_are_held(engine: FakeEngine) -> None:
    with proxy_for(engine, latency=Latency.parse("constant:80ms")) as proxy:
        dynamodb = client(proxy.endpoint)
        started = time.perf_counter()
        transact(dynamodb, reserve_items("slow"), "t-slow")
        assert time.perf_counter() - started >= 0.08
        assert proxy.windows["TransactWriteItems"][0] >= 0.08
        with ThreadPoolExecutor(2) as pool:
            outcomes = list(
                pool.map(lambda n: _outcome(dynamodb, n), [f"racer-{n}" for n in range(2)])
            )
    assert sorted(outcomes) == ["TransactionConflict", "ok"]


def _outcome(dynamodb: Any, reservation_id: str) -> str:
    try:
        transact(dynamodb, reserve_items(reservation_id), reservation_id)
    except TransactionCancelled as cancelled:
        return cancelled.reasons[1].code
    return "ok"
