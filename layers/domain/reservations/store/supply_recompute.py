"""Recompute every stock record's ``available`` after the supply formula changed
(docs/architecture.md, "Supply measures"; the operator command is local/recompute_supply.py).

A record is right when ``available + reserved == formula.supply(measures)``. Every write of
the service keeps ``d = supply - (available + reserved)`` as it is: holds move ``available``
and ``reserved`` by opposite amounts, a measure write moves ``available`` by the formula's
delta. So d comes from the formula change alone; adding it to ``available``, on condition
that ``available`` and ``reserved`` are still what was read, makes the record right, and a
second pass finds d = 0 everywhere and writes nothing.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

from botocore.exceptions import ClientError

from ..supply import Formula
from .keys import ENTITY, PK, SK, AttributeMap, Entity, n, s, stock_key
from .retry import RetryPolicy
from .transact import error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# A record that a hold moved between each read and write this many times is reported busy:
# running again finds it quieter, and a record already right costs nothing then.
ATTEMPTS = 4
BUSY: Final = "busy"


class NotAToken(ValueError):
    """A --start-after value this module did not print."""


@dataclass(frozen=True, slots=True)
class Recomputed:
    """One record's change: ``available`` from ``before`` to ``after`` (the write, or with
    a dry run the write it would make)."""

    sku: str
    location: str
    before: int
    after: int
    reserved: int
    supply: int

    @property
    def delta(self) -> int:
        return self.after - self.before


@dataclass(frozen=True, slots=True)
class Page:
    """What one Scan page did; ``resume`` continues after it (None: the scan is complete)."""

    read: int  # stock records on the page
    changed: tuple[Recomputed, ...]
    busy: tuple[tuple[str, str], ...]  # (sku, location) that moved on every attempt
    resume: str | None


# --- pure: what a record needs, the write that does it, and the resume token ---------------


def supply_of(item: Mapping[str, Any], formula: Formula) -> int:
    """The formula over the record's measures; a measure never written counts as zero."""
    return formula.supply({name: int(item[name]["N"]) for name in formula.measures if name in item})


def plan(item: Mapping[str, Any], formula: Formula) -> Recomputed | None:
    """The change that makes the record right under ``formula``; None when it is right."""
    available, reserved = int(item["available"]["N"]), int(item["reserved"]["N"])
    supply = supply_of(item, formula)
    d = supply - (available + reserved)
    if d == 0:
        return None
    sku, location = item["sku"]["S"], item["location"]["S"]
    return Recomputed(sku, location, available, available + d, reserved, supply)


def recompute_update(table_name: str, change: Recomputed, now: int) -> dict[str, Any]:
    """The UpdateItem of ``change``. It adds d rather than setting the value so it is the
    same kind of write as every other; the condition makes it apply only to the record as
    read, since a hold in between would make ``before`` stale."""
    return {
        "TableName": table_name,
        "Key": stock_key(change.sku, change.location),
        "UpdateExpression": "SET available = available + :d, updatedAt = :now",
        "ConditionExpression": "available = :a AND reserved = :r",
        "ExpressionAttributeValues": {
            ":d": n(change.delta),
            ":a": n(change.before),
            ":r": n(change.reserved),
            ":now": n(now),
        },
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


def scan_request(
    table_name: str, start_after: str | None, page_size: int | None = None
) -> dict[str, Any]:
    """A Scan of the stock records; strongly consistent, so fewer writes meet a condition
    that a read already knew to be stale."""
    request: dict[str, Any] = {
        "TableName": table_name,
        "ConsistentRead": True,
        "FilterExpression": "#entity = :stock",
        "ExpressionAttributeNames": {"#entity": ENTITY},
        "ExpressionAttributeValues": {":stock": s(Entity.STOCK)},
    }
    if start_after is not None:
        request["ExclusiveStartKey"] = open_token(start_after)
    if page_size is not None:
        request["Limit"] = page_size
    return request


def seal_token(last_key: Mapping[str, Any]) -> str:
    """The Scan's LastEvaluatedKey as one shell-safe word (unsigned: operators only)."""
    payload = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(payload).decode().rstrip("=")


def open_token(token: str) -> AttributeMap:
    try:
        key = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, binascii.Error):
        key = None
    if not (
        isinstance(key, dict)
        and set(key) == {PK, SK}
        and all(isinstance(value, dict) and set(value) == {"S"} for value in key.values())
    ):
        raise NotAToken(f"{token!r} is not a resume token this command printed")
    return key


# --- DynamoDB ---------------------------------------------------------------------------


class SupplyRecompute:
    """Pages of the recompute; the caller reports each page as it comes, so an interrupted
    run has printed the token to continue from."""

    def __init__(
        self,
        client: DynamoDBClient,
        table_name: str,
        formula: Formula,
        *,
        attempts: int = ATTEMPTS,
        retry: RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client = client
        self._name = table_name
        self._formula = formula
        self._attempts = attempts
        self._retry = retry or RetryPolicy()
        self._clock = clock
        self._sleep = sleep

    def pages(
        self, start_after: str | None = None, *, dry_run: bool = False, page_size: int | None = None
    ) -> Iterator[Page]:
        """Every page from ``start_after`` (NotAToken when it is not one) to the end."""
        request = scan_request(self._name, start_after, page_size)
        while True:
            found = self._client.scan(**request)
            changed: list[Recomputed] = []
            busy: list[tuple[str, str]] = []
            items = found.get("Items", [])
            for item in items:
                outcome = plan(item, self._formula) if dry_run else self._recompute(item)
                if outcome == BUSY:
                    busy.append((item["sku"]["S"], item["location"]["S"]))
                elif outcome is not None:
                    changed.append(outcome)
            last = found.get("LastEvaluatedKey")
            resume = None if last is None else seal_token(last)
            yield Page(len(items), tuple(changed), tuple(busy), resume)
            if last is None:
                return
            request["ExclusiveStartKey"] = last

    def _recompute(self, item: Mapping[str, Any]) -> Recomputed | Literal["busy"] | None:
        """The change written, None when none was needed, or BUSY."""
        for attempt in range(self._attempts):
            change = plan(item, self._formula)
            if change is None:
                return None
            try:
                self._client.update_item(**recompute_update(self._name, change, int(self._clock())))
                return change
            except ClientError as error:
                code = error_code(error)
                if code == "TransactionConflictException":
                    # A transaction holds the record: wait, then the condition tells whether
                    # it moved.
                    self._sleep(self._retry.delay(attempt))
                    continue
                if code != "ConditionalCheckFailedException":
                    raise
                old: Mapping[str, Any] | None = error.response.get("Item")  # type: ignore[assignment]
                current = old or self._read(change)
                if current is None:
                    return None  # gone: nothing to make right
                item = current
        # The last refusal may have shown the record right already (another run fixed it).
        return None if plan(item, self._formula) is None else BUSY

    def _read(self, change: Recomputed) -> Mapping[str, Any] | None:
        """The record now, for an engine that leaves the old item out of a refusal."""
        found = self._client.get_item(
            TableName=self._name, Key=stock_key(change.sku, change.location), ConsistentRead=True
        )
        return found.get("Item")
