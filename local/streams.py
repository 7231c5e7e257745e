"""Lambda's DynamoDB Streams event source, played locally: reads the table's stream and
hands batches to a function, as each ``AWS::Lambda::EventSourceMapping`` of the template on
the stream says (its function, batch size and filters).

As in AWS: records in stream order per shard, Lambda's record shape (epoch seconds for
``ApproximateCreationDateTime``, ``eventSourceARN``), the mapping's filter patterns applied
before the function sees a record, and partial batch responses: the batch is delivered
again from the first record the function names, up to ``MaximumRetryAttempts`` times, then
skipped with a line on stderr (AWS sends it to the mapping's failure destination).
Bisecting a failing batch is not played.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .background import BackgroundFunction
from .invoke import find_function
from .template import TABLE_RESOURCE, resources

STREAM_ARN = f"{TABLE_RESOURCE}.StreamArn"


@dataclass(frozen=True, slots=True)
class StreamMapping:
    """One event source mapping of the template on the table's stream."""

    logical_id: str
    function: str  # short name, as local.invoke finds it
    batch_size: int
    patterns: tuple[str, ...]
    max_retries: int

    def admits(self, record: Mapping[str, Any]) -> bool:
        if not self.patterns:
            return True
        from moto.events.models import EventPattern  # dev dependency: local only

        event: Any = dict(record)
        return any(EventPattern.load(p).matches_event(event) for p in self.patterns)


def stream_mappings() -> list[StreamMapping]:
    found = []
    for logical_id, resource in resources().items():
        if resource.get("Type") != "AWS::Lambda::EventSourceMapping":
            continue
        properties = resource["Properties"]
        if properties.get("EventSourceArn") != STREAM_ARN:
            continue
        filters = (properties.get("FilterCriteria") or {}).get("Filters") or []
        found.append(
            StreamMapping(
                logical_id,
                find_function(str(properties["FunctionName"])).name,
                int(properties.get("BatchSize", 100)),
                tuple(str(f["Pattern"]) for f in filters),
                int(properties.get("MaximumRetryAttempts", 10)),
            )
        )
    return found


def _epoch(value: Any) -> int:
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, datetime):
        return int(value.timestamp())
    try:
        return int(datetime.fromisoformat(str(value)).timestamp())
    except ValueError:
        return int(time.time())


def lambda_record(raw: Mapping[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda hands it to a function."""
    record: dict[str, Any] = json.loads(json.dumps(raw, default=str))
    body = record.setdefault("dynamodb", {})
    body["ApproximateCreationDateTime"] = _epoch(
        raw.get("dynamodb", {}).get("ApproximateCreationDateTime")
    )
    record["eventSourceARN"] = stream_arn
    return record


@dataclass(slots=True)
class StreamReader:
    """Every shard of a table's stream, from its oldest record (TRIM_HORIZON), in order.

    Each poll takes a fresh iterator after the last record seen rather than chaining
    NextShardIterator: moto restores a copy of its tables when a transaction is cancelled,
    which strands every iterator handed out before on a shard nobody writes to any more."""

    streams: Any  # a dynamodbstreams client
    stream_arn: str
    _last: dict[str, str | None] = field(default_factory=dict)

    def poll(self, limit: int = 1000) -> list[dict[str, Any]]:
        """What the stream gained since the last poll, in Lambda's shape."""
        found: list[dict[str, Any]] = []
        for shard in self._shards():
            response = self.streams.get_records(ShardIterator=self._iterator(shard), Limit=limit)
            records = response.get("Records", [])
            if records:
                self._last[shard] = records[-1]["dynamodb"]["SequenceNumber"]
            found += [lambda_record(r, self.stream_arn) for r in records]
        return found

    def _iterator(self, shard: str) -> str:
        last = self._last.get(shard)
        where: dict[str, str] = (
            {"ShardIteratorType": "TRIM_HORIZON"}
            if last is None
            else {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": last}
        )
        found: str = self.streams.get_shard_iterator(
            StreamArn=self.stream_arn, ShardId=shard, **where
        )["ShardIterator"]
        return found

    def _shards(self) -> Iterator[str]:
        description = self.streams.describe_stream(StreamArn=self.stream_arn)
        for shard in description["StreamDescription"]["Shards"]:
            self._last.setdefault(shard["ShardId"], None)
            yield shard["ShardId"]


def deliver(
    invoke: Any, mapping: StreamMapping, records: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Run the admitted records through the function in batches, retrying from the record a
    partial batch response names; the records given up on after the retries."""
    admitted = [dict(r) for r in records if mapping.admits(r)]
    given_up: list[dict[str, Any]] = []
    start = 0
    while start < len(admitted):
        batch = admitted[start : start + mapping.batch_size]
        for _ in range(mapping.max_retries + 1):
            failed_at = _failed_at(invoke, batch)
            if failed_at is None:
                break
            batch = batch[failed_at:]
        else:
            given_up += batch
        start += mapping.batch_size
    return given_up


def _failed_at(invoke: Any, batch: list[dict[str, Any]]) -> int | None:
    try:
        result = invoke({"Records": batch})
    except Exception as error:  # the function failed: the whole batch comes again
        print(f"stream batch failed: {error}", file=sys.stderr, flush=True)
        return 0
    failures = [f.get("itemIdentifier") for f in (result or {}).get("batchItemFailures") or []]
    positions = [
        index
        for index, record in enumerate(batch)
        if record["dynamodb"].get("SequenceNumber") in failures
    ]
    return min(positions) if positions else None


class StreamSource(BackgroundFunction):
    """One mapping played in the background of ``make run``."""

    def __init__(
        self,
        mapping: StreamMapping,
        streams: Any,
        stream_arn: str,
        env: Mapping[str, str] | None = None,
        *,
        interval: float = 0.5,
    ) -> None:
        super().__init__(mapping.function, f"{mapping.function} from the table's stream", env)
        self.mapping = mapping
        self.reader = StreamReader(streams, stream_arn)
        self.interval = interval

    def stop(self, join_timeout: float | None = None) -> None:
        # A read in flight ends within the client's timeouts; Ctrl-C never waits longer.
        super().stop(15.0 if join_timeout is None else join_timeout)

    def _loop(self) -> None:
        while not self._stopping.wait(self.interval):
            try:
                records = self.reader.poll()
                for record in deliver(self.invoke, self.mapping, records):
                    sequence = record["dynamodb"].get("SequenceNumber")
                    print(f"{self.name}: gave up on record {sequence}", file=sys.stderr)
            except Exception as error:  # the engine went away: keep polling
                print(f"{self.name}: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
