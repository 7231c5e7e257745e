"""The moto server engine under concurrent callers, as ``make run`` and the API suite use it.

moto's DynamoDB backend is not thread-safe: a transaction deep-copies the table while
another request thread writes it. The engine must still answer every call and lose no
write, or a local stack with two workers fails requests that AWS would serve.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import botocore.session
import pytest
from botocore.config import Config

from local.engines import MotoServer

THREADS = 8
ROUNDS = 10
# A table big enough that copying it takes longer than a request thread's time slice.
PRELOADED = 100
# Every error must surface: a retried 500 would hide the engine's failure.
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"}, read_timeout=30)


@pytest.fixture
def engine() -> Iterator[MotoServer]:
    # Its own server: the session's is shared by tests this one must not slow.
    server = MotoServer()
    yield server
    server.stop()


def dynamodb(endpoint: str) -> Any:
    session = botocore.session.get_session()
    return session.create_client(
        "dynamodb", endpoint_url=endpoint, region_name="us-east-1", config=NO_RETRIES
    )


def test_concurrent_transactions_and_writes_are_all_applied(engine: MotoServer) -> None:
    client = dynamodb(engine.endpoint)
    client.create_table(
        TableName="t",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for n in range(PRELOADED):
        client.put_item(TableName="t", Item={"id": {"S": f"old-{n}"}, "pad": {"S": "x" * 200}})

    def work(thread: int) -> None:
        own = dynamodb(engine.endpoint)
        for round_ in range(ROUNDS):
            name = f"new-{thread}-{round_}"
            if thread % 2:
                own.put_item(TableName="t", Item={"id": {"S": name}})
                continue
            count = {
                "Update": {
                    "TableName": "t",
                    "Key": {"id": {"S": "counter"}},
                    "UpdateExpression": "ADD n :one",
                    "ExpressionAttributeValues": {":one": {"N": "1"}},
                }
            }
            record = {"Put": {"TableName": "t", "Item": {"id": {"S": name}}}}
            own.transact_write_items(TransactItems=[count, record])

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for outcome in [pool.submit(work, thread) for thread in range(THREADS)]:
            outcome.result()  # raises what the engine answered with, a 500 included

    counter = client.get_item(TableName="t", Key={"id": {"S": "counter"}})["Item"]
    assert int(counter["n"]["N"]) == (THREADS // 2) * ROUNDS
    written = client.scan(TableName="t", Select="COUNT")["Count"]
    assert written == PRELOADED + THREADS * ROUNDS + 1
