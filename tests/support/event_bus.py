"""The event bus of a test: the table's stream played through the events function onto a
bus on moto server, and a tap that sees what was published, each event checked against
its schema (events/schemas/)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest

import events_function
from local.apigw import LambdaContext
from local.bus import LocalBus, Tap, ensure_bus
from local.streams import StreamMapping, StreamReader, deliver, stream_mappings
from reservations.bootstrap import CLIENT_CONFIG, build_event_relay
from reservations.config import Settings
from tests.support import clients

SCHEMAS = Path(__file__).parents[2] / "events" / "schemas"


@cache
def schema(detail_type: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SCHEMAS / f"{detail_type}.json").read_text())
    return loaded


def validate(event: dict[str, Any]) -> None:
    """Fails the test when ``event`` breaks the schema of its detail type."""
    jsonschema.Draft4Validator(schema(event["detail-type"])).validate(event)


def events_mapping() -> StreamMapping:
    [mapping] = [m for m in stream_mappings() if m.function == "events"]
    return mapping


def aws_client(service: str, endpoint: str) -> Any:
    return clients.aws_client(service, endpoint, CLIENT_CONFIG)


@dataclass
class Bus:
    """A table's stream, the events function wired to a bus, and a tap on the bus."""

    reader: StreamReader
    bus: LocalBus
    tap: Tap
    events: Any  # the EventBridge client the function publishes with
    monkeypatch: pytest.MonkeyPatch
    client: Any
    table: str
    seen: list[dict[str, Any]] = field(default_factory=list)

    def publish_with(self, events: Any) -> None:
        """The events function publishes through ``events`` from now on."""
        relay = build_event_relay(
            Settings(table_name=self.table), self.client, events, self.bus.name
        )
        self.monkeypatch.setattr(events_function, "relay", relay)

    def invoke(self, event: dict[str, Any]) -> Any:
        return events_function.lambda_handler(event, LambdaContext("events"))

    def pump(self) -> list[dict[str, Any]]:
        """Deliver what the stream gained through the function; the events published, each
        validated against its schema."""
        given_up = deliver(self.invoke, events_mapping(), self.reader.poll())
        assert not given_up
        return self.drain()

    def drain(self) -> list[dict[str, Any]]:
        found = list(self.tap.events())
        for event in found:
            validate(event)
        self.seen += found
        return found


def open_bus(
    endpoint: str, client: Any, table: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Bus]:
    events, sqs = aws_client("events", endpoint), aws_client("sqs", endpoint)
    streams = aws_client("dynamodbstreams", client.meta.endpoint_url)
    arn = client.describe_table(TableName=table)["Table"]["LatestStreamArn"]
    bus = ensure_bus(events, sqs, prefix=f"t{uuid.uuid4().hex[:10]}")
    tap = Tap(events, sqs, bus.name)
    wired = Bus(StreamReader(streams, arn), bus, tap, events, monkeypatch, client, table)
    wired.publish_with(events)
    try:
        yield wired
    finally:
        tap.close()
