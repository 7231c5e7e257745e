"""The sweeper and the TTL stream backstop on DynamoDB Local: each line's stock comes back once.

TTL deletes the lines of unswept holds while a late sweep runs; the stream function gets
records again (Lambda retries a batch, concurrent deliveries), a client id comes back after
TTL removed its first hold; and the helper's stream records match DynamoDB Local's own.
"""

from __future__ import annotations

from collections import Counter
from functools import partial
from typing import Any

import pytest

import stream_function
from local.apigw import LambdaContext
from reservations.records import Line, Status
from reservations.service import ReservationService, SweepReport
from reservations.store.items import line_from_item
from tests.support.cart_arena import (
    CART,
    EXPIRES_IN,
    GRACE,
    HOLDS,
    RECORDS,
    ROUNDS,
    STOCK,
    CartArena,
    Rounds,
    assert_both_won,
    request,
)
from tests.support.clients import aws_client
from tests.support.race import race
from tests.support.stream_events import stream_event


def deliver(records: list[dict[str, Any]]) -> None:
    """One invocation of the stream function; every record must succeed."""
    response = stream_function.lambda_handler(stream_event(records), LambdaContext("stream"))
    assert response == {"batchItemFailures": []}


def settles(record: dict[str, Any]) -> int:
    """What the backstop must give back for a record: a live line's ``held``."""
    old = record["dynamodb"]["OldImage"]
    if old["status"]["S"] in (Status.ACTIVE, Status.CONFIRMED):
        return int(old["held"]["N"])
    return 0


def ttl_purge(arena: CartArena, order: list[str], settled: list[int]) -> None:
    """TTL deletes the lines of the holds in ``order``, each delivered to the stream
    function as soon as deleted; ``settled`` gets what each must give back."""
    for rid in order:
        for key in arena.line_keys(rid):
            record = arena.ttl_delete(key)
            assert record is not None
            settled.append(settles(record))
            deliver([record])


# --- the sweeper against the TTL stream backstop ----------------------------------------


def test_sweep_racing_the_stream_backstop_releases_once(
    rounds: Rounds, monkeypatch: pytest.MonkeyPatch
) -> None:
    """TTL deletes the lines of unswept holds (past the grace period) while a late sweep
    runs: each line's stock comes back through exactly one of them."""
    wins: Counter[str] = Counter()
    for round_ in ROUNDS:
        with rounds(round_) as arena:
            arena.wire_stream_function(monkeypatch)
            arena.stock()
            ids = arena.holds(HOLDS)
            sweeper = arena.service_at(arena.now + EXPIRES_IN + GRACE)
            order = ids[:]
            arena.rng.shuffle(order)
            settled: list[int] = []

            report, ttl_outcome = race(sweeper.sweep, partial(ttl_purge, arena, order, settled))

            assert ttl_outcome is None, repr(ttl_outcome)
            assert isinstance(report, SweepReport), report
            # Headers stay ACTIVE in the expiry index until swept, so every hold was due.
            assert report.due == HOLDS
            assert report.due == len(report.expired) + report.skipped
            lines = len(CART)
            # A hold the sweep expired had its lines deleted with nothing held; any other hold
            # lost a line before the sweep could write, so the sweep left it and the stream
            # settled it.
            assert sum(1 for s in settled if s) == lines * (HOLDS - len(report.expired))
            assert sum(settled) == (HOLDS - len(report.expired)) * sum(q for *_, q in CART)
            for sku, location in RECORDS:
                assert arena.level(sku, location) == (STOCK, 0, STOCK)
            arena.check_invariants()
            # Nothing left to give back, whatever runs next.
            assert sweeper.sweep().expired == []
            arena.assert_reserved(holds=0)
            wins.update(swept=len(report.expired), settled=HOLDS - len(report.expired))
    assert_both_won(wins, "swept", "settled")


def test_a_redelivered_stream_record_settles_nothing_twice(
    arena: CartArena, backstop: ReservationService
) -> None:
    arena.stock()
    rid = arena.hold()
    other = arena.hold()
    arena.clock.advance(EXPIRES_IN + GRACE)
    records = [
        record for key in arena.line_keys(rid) if (record := arena.ttl_delete(key)) is not None
    ]
    assert [settles(r) for r in records] == [q for *_, q in CART]
    # Lambda retries a whole batch, and a batch may carry the same record twice.
    for _ in range(3):
        deliver(records + records[:1])
    arena.assert_reserved(holds=1)  # only `other` still holds
    # The sweep finds the purged hold due but leaves it; it expires the other one.
    report = arena.service.sweep()
    assert (report.due, report.expired, report.skipped) == (2, [other], 1)
    arena.assert_reserved(holds=0)
    arena.check_invariants()


def test_concurrent_redeliveries_settle_a_line_once(
    arena: CartArena, backstop: ReservationService
) -> None:
    arena.stock()
    ids = arena.holds(3)
    arena.clock.advance(EXPIRES_IN + GRACE)
    purged: list[tuple[str, Line]] = []
    for rid in ids:
        for key in arena.line_keys(rid):
            record = arena.ttl_delete(key)
            assert record is not None
            old = record["dynamodb"]["OldImage"]
            purged.append((rid, line_from_item(old)))
    tasks = [
        partial(backstop.settle_purged_line, rid, line, Status.ACTIVE)
        for rid, line in purged
        for _ in range(8)
    ]

    outcomes = race(*tasks)

    assert [o for o in outcomes if not isinstance(o, bool)] == []
    for index in range(len(purged)):
        assert sum(outcomes[index * 8 : index * 8 + 8]) == 1
    arena.assert_reserved(holds=0)
    arena.check_invariants()


def test_the_stream_records_match_what_dynamodb_local_streams(arena: CartArena) -> None:
    """The helper's record for a deletion carries what the table's stream carries."""
    arena.stock()
    rid = arena.hold()
    record = arena.ttl_delete(arena.line_keys(rid)[0])
    assert record is not None

    arn = arena.client.describe_table(TableName=arena.table)["Table"]["LatestStreamArn"]
    streams = _streams_client(arena.client)
    shards = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
    seen: list[dict[str, Any]] = []
    for shard in shards:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        seen += streams.get_records(ShardIterator=iterator)["Records"]
    removes = [r for r in seen if r["eventName"] == "REMOVE"]
    assert len(removes) == 1
    real = removes[0]
    for field in ("eventName", "eventVersion", "eventSource"):
        assert record[field] == real[field]
    for field in ("Keys", "OldImage", "StreamViewType"):
        assert record["dynamodb"][field] == real["dynamodb"][field]


def _streams_client(client: Any) -> Any:
    return aws_client("dynamodbstreams", client.meta.endpoint_url)


def test_a_reused_id_is_settled_again_after_its_first_purge(
    arena: CartArena, backstop: ReservationService
) -> None:
    """A client id (checkout id) may be reused once TTL removed its first hold: the first
    purge's markers must not make the backstop take the second hold's lines for
    redeliveries, so the stock of both holds comes back."""
    arena.stock()
    for incarnation in range(2):
        created = arena.service.reserve(
            request(id="checkout-7", expiresInSeconds=EXPIRES_IN), "web"
        )
        assert created.created, incarnation
        arena.assert_reserved(holds=1)
        arena.clock.advance(EXPIRES_IN + GRACE)  # the sweeper is down; TTL takes the whole record
        records = [
            record
            for key in arena.item_keys("checkout-7")
            if not key["SK"]["S"].startswith("PURGED#")
            if (record := arena.ttl_delete(key)) is not None
        ]
        deliver(records)
        arena.assert_reserved(holds=0)  # the second incarnation's too
        arena.check_invariants()
