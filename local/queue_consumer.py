"""Lambda's SQS event source, played locally: polls a queue and hands batches to a function.

As in AWS: up to ``batch_size`` messages per invocation, the record shape Lambda builds,
partial batch responses (the records named in ``batchItemFailures`` stay in the queue and
come back after the visibility timeout; the others are deleted), a whole batch kept when
the function fails, and the queue's own redrive policy moving a message to the
dead-letter queue once it has been received ``maxReceiveCount`` times.

The function runs in its own worker process, like the API's and the sweeper's.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from .aws_events import sqs_event, sqs_record
from .invoke import find_function
from .server import _worker_invoke, worker_pool

FIFO_MAX_BATCH = 10


@dataclass(slots=True)
class ConsumerStats:
    batches: int = 0
    records: int = 0
    deleted: int = 0
    failed: int = 0  # reported in batchItemFailures, or in a batch whose invocation failed
    invocation_errors: int = 0
    batch_sizes: list[int] = field(default_factory=list)


class QueueConsumer:
    def __init__(
        self,
        function: str,
        client: Any,
        queue_url: str,
        queue_arn: str,
        env: Mapping[str, str] | None = None,
        *,
        batch_size: int = FIFO_MAX_BATCH,
        wait_seconds: int = 1,
        quiet: bool = False,
    ) -> None:
        self.function = find_function(function)
        self.name = f"{function} from {queue_url.rsplit('/', 1)[-1]}"
        self._client = client
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        self.quiet = quiet
        self._env = dict(env or {})
        self._stopping = threading.Event()
        self._pool: ProcessPoolExecutor | None = None
        self._thread: threading.Thread | None = None
        self.stats = ConsumerStats()

    def start(self) -> None:
        self._pool = worker_pool(self.function, self._env)
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception as error:  # the engine went away, a worker died: keep polling
                print(f"{self.name}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                self._stopping.wait(1.0)

    def poll_once(self) -> int:
        """Receive one batch and deliver it; the number of records delivered."""
        received = self._client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = received.get("Messages") or []
        if not messages or self._pool is None:
            return 0
        records = [sqs_record(message, self.queue_arn) for message in messages]
        self.stats.batches += 1
        self.stats.records += len(records)
        self.stats.batch_sizes.append(len(records))
        try:
            result = self._pool.submit(_worker_invoke, sqs_event(records)).result()
        except Exception as error:
            # Lambda keeps the whole batch: every message returns after its timeout.
            self.stats.invocation_errors += 1
            self.stats.failed += len(records)
            print(f"{self.name}: {error}", file=sys.stderr, flush=True)
            return len(records)
        failed = {
            item.get("itemIdentifier")
            for item in (result or {}).get("batchItemFailures", [])
            if isinstance(item, Mapping)
        }
        done = [r for r in records if r["messageId"] not in failed]
        if done:
            self._client.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": record["receiptHandle"]}
                    for index, record in enumerate(done)
                ],
            )
        self.stats.deleted += len(done)
        self.stats.failed += len(records) - len(done)
        if failed and not self.quiet:
            print(
                f"{self.function.name}: {len(failed)} of {len(records)} record(s) failed; "
                "they return after the visibility timeout",
                file=sys.stderr,
                flush=True,
            )
        return len(records)

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=self.wait_seconds + 30)
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Until the queue shows nothing visible or in flight (for tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            attributes = self._client.get_queue_attributes(
                QueueUrl=self.queue_url,
                AttributeNames=[
                    "ApproximateNumberOfMessages",
                    "ApproximateNumberOfMessagesNotVisible",
                ],
            )["Attributes"]
            if all(int(value) == 0 for value in attributes.values()):
                return
            time.sleep(0.1)
        raise TimeoutError(f"{self.name}: the queue did not drain in {timeout:g}s")
