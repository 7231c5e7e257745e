"""The event bus on the local engine (moto server serves EventBridge), built from the
template: the bus, and each rule on it with an SQS queue for every SQS target, so the
ERP's example subscription fills a local queue as it would in AWS.

A ``Tap`` is a subscriber of its own: a rule on the bus and a queue, which ``make run``
and ``make events`` read to print events as they pass, and tests to see what was published.
"""

from __future__ import annotations

import json
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from .template import resources

BUS_RESOURCE = "EventBus"
EVERYTHING = {"source": ["reservations"]}


@dataclass(frozen=True, slots=True)
class LocalBus:
    name: str
    arn: str
    queues: dict[str, str] = field(default_factory=dict)  # rule's queue resource -> its URL


def _queue_arn(sqs: Any, url: str) -> str:
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return arn


def ensure_bus(events: Any, sqs: Any, prefix: str = "reservations") -> LocalBus:
    """The bus and the template's rules on it (their SQS targets as local queues)."""
    name = f"{prefix}-events"
    try:
        arn = events.describe_event_bus(Name=name)["Arn"]
    except events.exceptions.ResourceNotFoundException:
        arn = events.create_event_bus(Name=name)["EventBusArn"]
    queues: dict[str, str] = {}
    for logical_id, resource in resources().items():
        properties = resource.get("Properties", {})
        if (
            resource.get("Type") != "AWS::Events::Rule"
            or properties.get("EventBusName") != BUS_RESOURCE
        ):
            continue
        events.put_rule(
            Name=f"{prefix}-{logical_id}",
            EventBusName=name,
            EventPattern=json.dumps(properties["EventPattern"]),
        )
        targets = []
        for target in properties.get("Targets", []):
            queue = str(target["Arn"]).removesuffix(".Arn")
            if resources().get(queue, {}).get("Type") != "AWS::SQS::Queue":
                continue
            url = sqs.create_queue(QueueName=f"{prefix}-{queue}")["QueueUrl"]
            queues[queue] = url
            targets.append({"Id": target["Id"], "Arn": _queue_arn(sqs, url)})
        if targets:
            events.put_targets(Rule=f"{prefix}-{logical_id}", EventBusName=name, Targets=targets)
    return LocalBus(name, arn, queues)


class Tap:
    """A subscriber of its own: every event of the bus (or those of ``pattern``) into a
    queue of its own, read with ``events()``; ``close()`` removes both."""

    def __init__(
        self, events: Any, sqs: Any, bus: str, pattern: dict[str, Any] | None = None
    ) -> None:
        self._events = events
        self._sqs = sqs
        self.bus = bus
        self.rule = f"tap-{uuid.uuid4().hex[:12]}"
        self.url = sqs.create_queue(QueueName=self.rule)["QueueUrl"]
        events.put_rule(
            Name=self.rule, EventBusName=bus, EventPattern=json.dumps(pattern or EVERYTHING)
        )
        events.put_targets(
            Rule=self.rule,
            EventBusName=bus,
            Targets=[{"Id": "tap", "Arn": _queue_arn(sqs, self.url)}],
        )

    def events(self, wait_seconds: int = 0) -> Iterator[dict[str, Any]]:
        """The events delivered so far (each once), oldest first as SQS hands them."""
        while True:
            messages = self._sqs.receive_message(
                QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds
            ).get("Messages", [])
            if not messages:
                return
            for message in messages:
                yield json.loads(message["Body"])
            self._sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(messages)
                ],
            )

    def close(self) -> None:
        self._events.remove_targets(Rule=self.rule, EventBusName=self.bus, Ids=["tap"])
        self._events.delete_rule(Name=self.rule, EventBusName=self.bus)
        self._sqs.delete_queue(QueueUrl=self.url)


def line(event: dict[str, Any]) -> str:
    """One event as ``make run`` and ``make events`` print it."""
    detail = event.get("detail") or {}
    if "onHand" in detail:
        subject = f"{detail['sku']}@{detail['location']}"
    else:
        subject = detail.get("reservationId") or detail.get("messageId", "")
    facts = {
        key: detail[key]
        for key in ("status", "version", "onHand", "reserved", "available", "reason")
        if key in detail and detail[key] is not None
    }
    shown = " ".join(f"{key}={value}" for key, value in facts.items())
    return f"{event.get('time', '')} {event.get('detail-type')} {subject} {shown}".rstrip()


class Printer:
    """Prints every event of the bus as it passes (``make run``, ``make events``)."""

    def __init__(self, tap: Tap, out: Any = None) -> None:
        self.tap = tap
        self._out = out or sys.stdout
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="events", daemon=True)

    def start(self) -> Printer:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                for event in self.tap.events(wait_seconds=1):
                    print(f"event {line(event)}", file=self._out, flush=True)
            except Exception as error:  # the engine went away: say so, keep trying
                print(f"events: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
                self._stopping.wait(1.0)

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self.tap.close()
