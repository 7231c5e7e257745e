"""What operators ask of the service besides holds: the ERP dead-letter queue (look,
redrive one message) and the drift check (docs/architecture.md, "Operator console").

The API function builds this only when an operator route runs, so its cold start pays
for none of it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .drift import DriftReport, check
from .errors import NotFound
from .supply import DEFAULT_FORMULA, Formula

if TYPE_CHECKING:
    from mypy_boto3_sqs.client import SQSClient

    from .store import Store

# Long enough for one look at the DLQ to receive, read and hand back its messages.
LOOK_SECONDS = 20
# ReceiveMessage calls of one look: a FIFO queue hides a group's later messages while its
# earlier ones are in flight, so one look sees at most ten messages of each group.
MAX_RECEIVES = 10
# Attributes the ERP function adds when it dead-letters a message; not the ERP's own.
ADDED_ATTRIBUTES = ("failureReason", "sourceMessageId")


class DriftCheckTooLarge(Exception):
    """The table is larger than one API call may read: run the drift check offline."""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    message_id: str
    group_id: str
    body: str
    reason: str
    receive_count: int
    sent_at: int  # epoch seconds it was first sent (to the ERP queue or to the DLQ)


@dataclass(slots=True)
class DeadLetterLook:
    messages: list[DeadLetter] = field(default_factory=list)
    approximate_total: int = 0


@dataclass(frozen=True, slots=True)
class DriftResult:
    report: DriftReport
    items: int  # read by the scan


def _reason(message: Mapping[str, Any]) -> str:
    attributes = message.get("MessageAttributes") or {}
    reason = attributes.get("failureReason", {}).get("StringValue")
    if reason:
        return str(reason)
    count = message.get("Attributes", {}).get("ApproximateReceiveCount", "?")
    return f"moved by the queue's redrive policy after failing {count} deliveries"


class Operations:
    def __init__(
        self,
        store: Store,
        sqs: SQSClient | None,
        erp_queue_url: str,
        dead_letter_url: str,
        *,
        drift_max_items: int = 50_000,
        supply_formula: Formula = DEFAULT_FORMULA,
    ) -> None:
        self._store = store
        self._sqs = sqs
        self._queue = erp_queue_url
        self._dead_letters = dead_letter_url
        self._drift_max_items = drift_max_items
        self._formula = supply_formula

    # --- the ERP dead-letter queue ------------------------------------------------------------

    def dead_letters(self) -> DeadLetterLook:
        """A look at the DLQ: its messages are received, read and made visible again at once."""
        look = DeadLetterLook(approximate_total=self._depth())
        with self._received() as received:
            look.messages = [self._dead_letter(m) for m in received]
        return look

    def redrive(self, message_id: str) -> str:
        """Send one dead letter back to the ERP queue as the ERP sent it, then delete it from
        the DLQ; the id of the message sent. Its deduplication id makes a retried redrive
        (within SQS's five minutes) send it once."""
        sqs = self._client()
        with self._received() as received:
            found = next((m for m in received if m["MessageId"] == message_id), None)
            if found is None:
                raise NotFound(f"no message {message_id!r} in the ERP dead-letter queue")
            attributes = {
                name: value
                for name, value in (found.get("MessageAttributes") or {}).items()
                if name not in ADDED_ATTRIBUTES
            }
            request: dict[str, Any] = {
                "QueueUrl": self._queue,
                "MessageBody": found["Body"],
                "MessageGroupId": found.get("Attributes", {}).get("MessageGroupId") or "redriven",
                "MessageDeduplicationId": f"redrive-{message_id}"[:128],
            }
            if attributes:
                request["MessageAttributes"] = attributes
            sent: str = sqs.send_message(**request)["MessageId"]
            sqs.delete_message(QueueUrl=self._dead_letters, ReceiptHandle=found["ReceiptHandle"])
            received.remove(found)
        return sent

    def _client(self) -> SQSClient:
        if self._sqs is None or not self._dead_letters:
            raise NotFound("this deployment has no ERP dead-letter queue configured")
        return self._sqs

    def _depth(self) -> int:
        attributes = self._client().get_queue_attributes(
            QueueUrl=self._dead_letters, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes.get("ApproximateNumberOfMessages", 0))

    def _received(self) -> _Received:
        return _Received(self._client(), self._dead_letters)

    @staticmethod
    def _dead_letter(message: Mapping[str, Any]) -> DeadLetter:
        attributes = message.get("Attributes") or {}
        return DeadLetter(
            message_id=message["MessageId"],
            group_id=attributes.get("MessageGroupId", ""),
            body=message.get("Body", ""),
            reason=_reason(message),
            receive_count=int(attributes.get("ApproximateReceiveCount", 0)),
            sent_at=int(attributes.get("SentTimestamp", 0)) // 1000,
        )

    # --- the drift check ----------------------------------------------------------------------

    def drift(self, out_of_time: Callable[[], bool] = lambda: False) -> DriftResult:
        """The drift check over the whole table, refused (DriftCheckTooLarge) past
        ``drift_max_items`` items or when the invocation runs out of time."""
        counted = _Counted(self._store.scan(), self._drift_max_items, out_of_time)
        report = check(counted, self._formula)
        return DriftResult(report, counted.seen)


class _Counted:
    def __init__(
        self, items: Iterable[Mapping[str, Any]], limit: int, out_of_time: Callable[[], bool]
    ) -> None:
        self._items = items
        self._limit = limit
        self._out_of_time = out_of_time
        self.seen = 0

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        for item in self._items:
            self.seen += 1
            if self.seen > self._limit or (self.seen % 1000 == 0 and self._out_of_time()):
                raise DriftCheckTooLarge(
                    f"the table has more than {self.seen - 1} items to check in one call; "
                    "run the drift check offline: python -m local.drift"
                )
            yield item


class _Received:
    """Messages received from the DLQ for one look, made visible again on leaving (those
    not deleted meanwhile), so a look never holds them back from the next."""

    def __init__(self, sqs: SQSClient, url: str) -> None:
        self._sqs = sqs
        self._url = url
        self.messages: list[dict[str, Any]] = []

    def __enter__(self) -> list[dict[str, Any]]:
        deadline = time.monotonic() + LOOK_SECONDS / 2
        for _ in range(MAX_RECEIVES):
            batch = self._sqs.receive_message(
                QueueUrl=self._url,
                MaxNumberOfMessages=10,
                VisibilityTimeout=LOOK_SECONDS,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not batch:
                break
            self.messages += batch  # type: ignore[arg-type]
            if time.monotonic() > deadline:
                break
        return self.messages

    def __exit__(self, *_: object) -> None:
        for start in range(0, len(self.messages), 10):
            chunk = self.messages[start : start + 10]
            self._sqs.change_message_visibility_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(chunk)
                ],
            )
