"""Lambda's SQS event source, played locally: polls a queue and hands batches to a function.

As in AWS: up to ``batch_size`` messages per invocation, the record shape Lambda builds,
partial batch responses (the records named in ``batchItemFailures`` stay in the queue and
come back after the visibility timeout; the others are deleted), a whole batch kept when
the function fails, and the queue's own redrive policy moving a message to the
dead-letter queue once it has been received ``maxReceiveCount`` times.

The function runs in its own worker process, like the API's and the sweeper's; a worker
that dies fails its batch only, and the next batch runs in a new one.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .aws_events import sqs_event, sqs_record
from .background import BackgroundFunction

FIFO_MAX_BATCH = 10


@dataclass(slots=True)
class ConsumerStats:
    records: int = 0
    deleted: int = 0
    failed: int = 0  # reported in batchItemFailures, or in a batch whose invocation failed
    batch_sizes: list[int] = field(default_factory=list)


class QueueConsumer(BackgroundFunction):
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
        super().__init__(function, f"{function} from {queue_url.rsplit('/', 1)[-1]}", env)
        self._client = client
        self.queue_url = queue_url
        self.queue_arn = queue_arn
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        self.quiet = quiet
        self.stats = ConsumerStats()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception as error:  # the engine went away, a worker died: keep polling
                print(f"{self.name}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                self._stopping.wait(1.0)

    def poll_once(self) -> None:
        """Receive one batch and deliver it."""
        received = self._client.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            WaitTimeSeconds=self.wait_seconds,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages = received.get("Messages") or []
        if not messages:
            return
        records = [sqs_record(message, self.queue_arn) for message in messages]
        self.stats.records += len(records)
        self.stats.batch_sizes.append(len(records))
        try:
            result = self.invoke(sqs_event(records))
        except Exception as error:
            # The invocation failed (the handler raised, its worker died or timed out):
            # Lambda keeps the whole batch, and every message returns after its visibility
            # timeout with one receive more, so the redrive policy still counts it.
            self.stats.failed += len(records)
            print(f"{self.name}: {error}", file=sys.stderr, flush=True)
            return
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

    def stop(self, join_timeout: float | None = None) -> None:
        # A receive in progress returns within its long-poll wait.
        super().stop(self.wait_seconds + 30 if join_timeout is None else join_timeout)

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
