"""Publishes events to the EventBridge bus, ten to a PutEvents call (its limit).

EventBridge gives every event an ``id`` of its own; ours, stable across redeliveries, is
``detail.eventId``, on which subscribers deduplicate.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .derive import SOURCE, Event

MAX_ENTRIES = 10


class EventBus:
    def __init__(self, client: Any, bus_name: str, source: str = SOURCE) -> None:
        self._client = client
        self.name = bus_name
        self._source = source

    def put(self, events: Sequence[Event]) -> list[int]:
        """Publish ``events``; the indexes of those EventBridge did not take (retry them)."""
        failed: list[int] = []
        for start in range(0, len(events), MAX_ENTRIES):
            chunk = events[start : start + MAX_ENTRIES]
            entries = [
                {
                    "Source": self._source,
                    "DetailType": event.detail_type,
                    "Detail": json.dumps(event.detail, separators=(",", ":")),
                    "EventBusName": self.name,
                    "Time": datetime.fromtimestamp(event.time, tz=UTC),
                }
                for event in chunk
            ]
            try:
                response = self._client.put_events(Entries=entries)
            except (BotoCoreError, ClientError):
                failed += range(start, start + len(chunk))
                continue
            failed += [
                start + offset
                for offset, entry in enumerate(response.get("Entries") or [])
                if entry.get("ErrorCode")
            ]
        return failed
