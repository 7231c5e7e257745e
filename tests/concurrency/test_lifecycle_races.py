"""Lifecycle transitions racing each other on DynamoDB Local: each hold has exactly one fate.

Two services share a table with their own clocks: the API's a second before the holds
expire (so a confirm or an extend is still allowed when computed) and the sweeper's at the
expiry (so the same holds are due). Whatever the interleaving, exactly one side wins, the
loser is refused with the winner's status, and stock moves exactly once.

A race with two possible winners runs its rounds in one test, each round on a table of its
own, and each side must win at least once across them: a race that always goes one way
would say nothing about the other. Reserves racing for the stock of due holds run plainly
and through the contention-faithful proxy (``racing``).
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

import stream_function
from local.apigw import LambdaContext
from reservations.clock import ManualClock
from reservations.commands import ReserveRequest
from reservations.errors import InsufficientStock, InvalidState
from reservations.http.models import CreateReservationRequest
from reservations.lifecycle import LineQuantity
from reservations.records import Line, Reservation, Status
from reservations.service import ReservationService, SweepReport
from reservations.store import Store
from reservations.store.items import line_from_item
from reservations.store.reservations import ReservationStore
from reservations.store.retry import RetryPolicy
from tests.support.arena import Arena
from tests.support.clients import aws_client
from tests.support.race import persist, race
from tests.support.stream_events import stream_event

ROUNDS = range(8)
HOLDS = 4
EXPIRES_IN = 60
GRACE = 3600  # Settings.expiry_grace_seconds: TTL may delete an unswept hold after this
STOCK = 50
# API calls that wait for a moment of the sweep start up to this many seconds after it.
JITTER = 0.06
# Every hold of these races: two lines on two stock records.
CART = (("A", "WH1", 2), ("B", "WH2", 1))
RECORDS = [(sku, location) for sku, location, _ in CART]


# --- the arena ---------------------------------------------------------------------------


def request(items: tuple[tuple[str, str, int], ...] = CART, **extra: Any) -> ReserveRequest:
    return CreateReservationRequest.model_validate(
        {
            "items": [{"sku": s, "location": loc, "quantity": q} for s, loc, q in items],
            **extra,
        }
    ).to_command()


def holds_everything(reservation: Reservation) -> bool:
    return all(
        x.held == x.quantity and not x.released and not x.consumed for x in reservation.lines
    )


def released_everything(reservation: Reservation) -> bool:
    return all(x.held == 0 and x.released == x.quantity for x in reservation.lines)


class Sweeping(ReservationStore):
    """Reservations as the sweeper reads and writes them, telling the test when it has
    listed the due holds and when it begins writing their expiries."""

    def __init__(self, store: Store) -> None:
        super().__init__(store.client, store.name, store.stock, store.receipts, store.labels)
        self.listed = threading.Event()
        self.expiring = threading.Event()

    def due_ids(self, now: int, limit: int | None = None) -> list[str]:
        found = super().due_ids(now, limit)
        self.listed.set()
        return found

    def save_transition(self, before: Reservation, after: Reservation, **kwargs: Any) -> None:
        self.expiring.set()
        super().save_transition(before, after, **kwargs)


@dataclass
class Racers:
    api: ReservationService  # a second before the holds' expiry
    sweeper: ReservationService  # at their expiry, on the Sweeping store
    sweeping: Sweeping
    rng: random.Random

    def sweep(self) -> SweepReport:
        try:
            return self.sweeper.sweep()
        finally:  # no staggered call waits for a moment that will not come
            self.sweeping.listed.set()
            self.sweeping.expiring.set()

    def staggered(self, calls: list[Callable[[], Any]]) -> list[Callable[[], Any]]:
        """Each call at one of three moments, dealt in turn and shuffled so that every
        round has each: with the race, before the sweep can have read its hold (the API
        call should win); up to JITTER after the sweep listed the due holds, while it reads
        and expires them (either may win); up to JITTER after the sweep began writing
        expiries (the sweep should win). Moments of the sweep, not fixed delays: how long
        a sweep takes depends on the machine's load."""
        moments = [None, self.sweeping.listed, self.sweeping.expiring]
        dealt = [moments[index % len(moments)] for index in range(len(calls))]
        self.rng.shuffle(dealt)
        return [self._at(moment, call) for moment, call in zip(dealt, calls, strict=True)]

    def _at(self, moment: threading.Event | None, call: Callable[[], Any]) -> Callable[[], Any]:
        delay = self.rng.uniform(0, JITTER)

        def run() -> Any:
            if moment is not None:
                assert moment.wait(timeout=30)
                time.sleep(delay)
            return call()

        return run


class CartArena(Arena):
    """The arena of these races: every hold is of CART, on stock records of STOCK."""

    def stock(self, on_hand: int = STOCK) -> None:
        for sku, location in RECORDS:
            self.service.set_on_hand(sku, location, on_hand)

    def hold(self, expires_in: int = EXPIRES_IN) -> str:
        return self.service.reserve(request(expiresInSeconds=expires_in), "web").reservation.id

    def holds(self, count: int, expires_in: int = EXPIRES_IN) -> list[str]:
        return [self.hold(expires_in) for _ in range(count)]

    def assert_reserved(self, holds: int, on_hand: int = STOCK) -> None:
        """Stock records show exactly ``holds`` of CART held, with available = onHand - reserved."""
        for sku, location, quantity in CART:
            reserved = holds * quantity
            assert self.level(sku, location) == (on_hand, reserved, on_hand - reserved), sku

    def racers(self) -> Racers:
        """The API and the sweeper, for holds placed now with the default expiry."""
        store = Store(self.client, self.table)
        sweeping = store.reservations = Sweeping(store)
        api = self.service_at(self.now + EXPIRES_IN - 1)
        sweeper = self.service_at(self.now + EXPIRES_IN, store)
        return Racers(api, sweeper, sweeping, self.rng)

    def wire_stream_function(self, monkeypatch: pytest.MonkeyPatch) -> ReservationService:
        """The stream function's handler, wired to this table (its clock is far in the
        future: the backstop's own time plays no part in what it gives back)."""
        backstop = self.service_at(2_000_000_000.0)
        monkeypatch.setattr(stream_function, "service", backstop)
        return backstop


@pytest.fixture
def arena(
    local_client: Any, local_table: str, clock: ManualClock, fast_retries: RetryPolicy
) -> CartArena:
    return CartArena(local_client, local_table, clock, fast_retries)


Rounds = Callable[[int], AbstractContextManager[CartArena]]


@pytest.fixture
def rounds(arena: CartArena) -> Rounds:
    """Rounds of a race, each on a table of its own."""
    return arena.new_round


@pytest.fixture
def backstop(arena: CartArena, monkeypatch: pytest.MonkeyPatch) -> ReservationService:
    return arena.wire_stream_function(monkeypatch)


def assert_both_won(wins: Counter[str], one: str, other: str) -> None:
    """Across the rounds each side won at least once: the race really went both ways."""
    assert wins[one] > 0 and wins[other] > 0, f"one side never won: {dict(wins)}"


def assert_sweep_accounts_for(report: SweepReport, expired: set[str]) -> None:
    assert len(report.expired) == len(set(report.expired))
    assert set(report.expired) == expired
    assert report.due == len(report.expired) + report.skipped


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


# --- confirm, extend against the sweeper ------------------------------------------------


def test_confirm_racing_the_sweep_has_exactly_one_winner(rounds: Rounds) -> None:
    wins: Counter[str] = Counter()
    for round_ in ROUNDS:
        with rounds(round_) as arena:
            arena.stock()
            ids = arena.holds(HOLDS)
            side = arena.racers()
            confirms = side.staggered([partial(side.api.confirm, rid) for rid in ids])

            report, *outcomes = race(side.sweep, *confirms)

            assert isinstance(report, SweepReport), report
            confirmed, expired = set(), set()
            for rid, outcome in zip(ids, outcomes, strict=True):
                stored = arena.get(rid)
                if isinstance(outcome, Reservation):
                    # Confirmed first: the sweeper found it no longer due and left its stock held.
                    assert outcome.status is Status.CONFIRMED
                    assert stored.status is Status.CONFIRMED and holds_everything(stored)
                    assert stored.purge_at is None
                    confirmed.add(rid)
                else:
                    # Expired first: the confirm read it again and was refused with its status.
                    assert isinstance(outcome, InvalidState), repr(outcome)
                    assert outcome.status == Status.EXPIRED
                    assert stored.status is Status.EXPIRED and released_everything(stored)
                    expired.add(rid)
            assert_sweep_accounts_for(report, expired)
            assert report.skipped <= len(confirmed)
            arena.assert_reserved(holds=len(confirmed))
            arena.check_invariants()
            wins.update(confirmed=len(confirmed), expired=len(expired))
    assert_both_won(wins, "confirmed", "expired")


def test_extend_racing_the_sweep_has_exactly_one_winner(rounds: Rounds) -> None:
    wins: Counter[str] = Counter()
    for round_ in ROUNDS:
        with rounds(round_) as arena:
            arena.stock()
            ids = arena.holds(HOLDS)
            side = arena.racers()
            extended_to = int(arena.now) + EXPIRES_IN - 1 + 300
            extends = side.staggered([partial(side.api.extend, rid, 300) for rid in ids])

            report, *outcomes = race(side.sweep, *extends)

            assert isinstance(report, SweepReport), report
            extended, expired = set(), set()
            for rid, outcome in zip(ids, outcomes, strict=True):
                stored = arena.get(rid)
                if isinstance(outcome, Reservation):
                    assert stored.status is Status.ACTIVE and holds_everything(stored)
                    assert stored.expires_at == outcome.expires_at == extended_to
                    assert stored.purge_at == extended_to + GRACE
                    extended.add(rid)
                else:
                    assert isinstance(outcome, InvalidState), repr(outcome)
                    assert outcome.status == Status.EXPIRED
                    assert stored.status is Status.EXPIRED and released_everything(stored)
                    expired.add(rid)
            assert_sweep_accounts_for(report, expired)
            arena.assert_reserved(holds=len(extended))
            arena.check_invariants()
            # An extended hold is no longer due at the sweeper's time, not even to a second sweep.
            assert side.sweeper.sweep().due == 0
            wins.update(extended=len(extended), expired=len(expired))
    assert_both_won(wins, "extended", "expired")


# --- cancel against fulfil -------------------------------------------------------------


def test_cancel_racing_fulfill_has_exactly_one_winner(rounds: Rounds) -> None:
    wins: Counter[str] = Counter()
    for round_ in ROUNDS:
        with rounds(round_) as arena:
            arena.stock()
            service = arena.service
            ids = arena.holds(HOLDS, expires_in=600)
            for rid in ids[::2]:  # a cancel takes back a confirmed hold too
                service.confirm(rid)
            tasks: list[Callable[[], Any]] = []
            for rid in ids:
                pair = [partial(service.cancel, rid), partial(service.fulfill, rid, None)]
                arena.rng.shuffle(pair)
                tasks += pair

            outcomes = race(*tasks)

            fulfilled = 0
            for index, rid in enumerate(ids):
                first, second = outcomes[2 * index : 2 * index + 2]  # in the shuffled order
                winners = [o for o in (first, second) if isinstance(o, Reservation)]
                losers = [o for o in (first, second) if not isinstance(o, Reservation)]
                assert len(winners) == 1 and len(losers) == 1, (first, second)
                winner, loser = winners[0], losers[0]
                assert isinstance(loser, InvalidState), repr(loser)
                assert loser.status == winner.status
                stored = arena.get(rid)
                assert stored.status is winner.status
                assert all(x.held == 0 for x in stored.lines)
                if winner.status is Status.FULFILLED:
                    assert all(x.consumed == x.quantity and not x.released for x in stored.lines)
                    fulfilled += 1
                else:
                    assert winner.status is Status.CANCELLED
                    assert released_everything(stored)
                wins[winner.status] += 1
            for sku, location, quantity in CART:
                # Shipped goods left onHand and reserved together; cancelled ones came back.
                on_hand = STOCK - fulfilled * quantity
                assert arena.level(sku, location) == (on_hand, 0, on_hand)
            arena.check_invariants()
    assert_both_won(wins, Status.CANCELLED, Status.FULFILLED)


# --- sweepers against each other --------------------------------------------------------


def test_two_sweepers_expire_each_due_hold_exactly_once(rounds: Rounds) -> None:
    wins: Counter[str] = Counter()
    for round_ in ROUNDS:
        with rounds(round_) as arena:
            arena.stock()
            due = set(arena.holds(6))
            later = set(arena.holds(2, expires_in=600))
            # Two schedules overlapping, one a second behind the other: the same holds are
            # due to both.
            first = arena.service_at(arena.now + EXPIRES_IN)
            second = arena.service_at(arena.now + EXPIRES_IN + 1)

            reports = race(first.sweep, second.sweep)

            assert all(isinstance(r, SweepReport) for r in reports), reports
            one, two = (set(r.expired) for r in reports)
            assert not one & two
            assert one | two == due
            for report in reports:
                assert report.due == len(report.expired) + report.skipped
                assert set(report.expired) <= due
            for rid in due:
                stored = arena.get(rid)
                assert stored.status is Status.EXPIRED and released_everything(stored)
            for rid in later:
                assert holds_everything(arena.get(rid))
            # Total released equals what the due holds held: only the later holds remain.
            arena.assert_reserved(holds=len(later))
            arena.check_invariants()
            wins.update(first=len(one), second=len(two))
    assert_both_won(wins, "first", "second")


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


# --- reserves that meet due holds -------------------------------------------------------


def test_a_reserve_short_only_because_of_due_holds_succeeds(arena: CartArena) -> None:
    service = arena.service
    service.set_on_hand("A", "WH1", 4)
    service.set_on_hand("B", "WH1", 5)
    due = service.reserve(request((("A", "WH1", 3),), expiresInSeconds=60), "web").reservation
    confirmed = service.reserve(request((("A", "WH1", 1),)), "web").reservation
    service.confirm(confirmed.id)
    elsewhere = service.reserve(request((("B", "WH1", 2),), expiresInSeconds=30), "web").reservation
    arena.clock.advance(60)
    assert arena.level("A", "WH1") == (4, 4, 0)  # nothing swept yet

    result = service.reserve(request((("A", "WH1", 3),)), "web")

    assert result.created
    assert arena.get(due.id).status is Status.EXPIRED
    assert released_everything(arena.get(due.id))
    assert arena.get(confirmed.id).status is Status.CONFIRMED
    # Only holds on the short record are expired on the way; the sweeper gets the others.
    assert arena.get(elsewhere.id).status is Status.ACTIVE
    assert arena.level("A", "WH1") == (4, 4, 0)
    with pytest.raises(InsufficientStock) as short:
        service.reserve(request((("A", "WH1", 1),)), "web")
    assert [(i.sku, i.requested, i.available) for i in short.value.items] == [("A", 1, 0)]
    arena.check_invariants()


def reserves_meeting_due_holds(arena: CartArena, with_sweeper: bool) -> tuple[list[str], list[Any]]:
    """Five due holds of 2 on a record of 10 (nothing else free); eight carts of 2 race for
    them, with or without the sweeper: what the due holds held is all there is to sell."""
    service = arena.service
    service.set_on_hand("A", "WH1", 10)
    old = [
        service.reserve(request((("A", "WH1", 2),), expiresInSeconds=60), "web").reservation.id
        for _ in range(5)
    ]
    arena.clock.advance(60)
    # A client retries a 503 (CONTENTION, through the proxy) under its cart's own id.
    tasks: list[Callable[[], Any]] = [
        partial(
            persist, partial(service.reserve, request((("A", "WH1", 2),), id=f"c{n}"), "web"), n
        )
        for n in range(8)
    ]
    if with_sweeper:
        tasks.append(partial(persist, service.sweep, "the sweep"))
    outcomes = race(*tasks)
    if with_sweeper:
        assert isinstance(outcomes[8], SweepReport), outcomes[8]
    reserves = outcomes[:8]
    unexpected = [
        o for o in reserves if isinstance(o, Exception) and not isinstance(o, InsufficientStock)
    ]
    assert unexpected == []
    return old, reserves


@pytest.fixture
def racing_arena(racing: ReservationService, local_table: str, clock: ManualClock) -> CartArena:
    """A cart arena on ``racing``'s engine: plainly, and through the contention proxy."""
    return CartArena(racing._store.client, local_table, clock, racing._retry)


@pytest.mark.parametrize("with_sweeper", [False, True], ids=["reserves", "reserves+sweeper"])
def test_concurrent_reserves_expire_each_due_hold_once(
    racing_arena: CartArena, with_sweeper: bool
) -> None:
    arena = racing_arena
    old, reserves = reserves_meeting_due_holds(arena, with_sweeper)

    for rid in old:
        stored = arena.get(rid)
        assert stored.status is Status.EXPIRED and released_everything(stored)
    granted = [o for o in reserves if not isinstance(o, Exception)]
    assert 1 <= len(granted) <= 5
    # What the expiries gave back once went to the granted carts, nothing more.
    assert arena.level("A", "WH1") == (10, 2 * len(granted), 10 - 2 * len(granted))
    arena.check_invariants()


@pytest.mark.parametrize("with_sweeper", [False, True], ids=["reserves", "reserves+sweeper"])
def test_concurrent_reserves_sell_all_the_stock_of_due_holds(
    racing_arena: CartArena, with_sweeper: bool
) -> None:
    """Whoever expires a due hold (the refused reserve, another one or the sweeper), a
    refused reserve tries again: all the due holds held is sold, none of it refused."""
    arena = racing_arena
    _, reserves = reserves_meeting_due_holds(arena, with_sweeper)

    granted = [o for o in reserves if not isinstance(o, Exception)]
    assert len(granted) == 5, f"{len(granted)} of 8 granted; stock {arena.level('A', 'WH1')}"
    assert arena.level("A", "WH1") == (10, 10, 0)
    arena.check_invariants()


class SweptMeanwhile(ReservationStore):
    """A sweep that finishes between a reserve's refusal and its look for due holds."""

    def __init__(self, store: Store, sweeper: ReservationService) -> None:
        super().__init__(store.client, store.name, store.stock, store.receipts, store.labels)
        self.sweeper = sweeper

    def holds_on_sku(self, sku: str, location: str | None = None) -> list[Any]:
        self.sweeper.sweep()
        return super().holds_on_sku(sku, location)


def test_a_reserve_refused_while_the_sweeper_frees_its_stock(arena: CartArena) -> None:
    """The sweeper expires the due hold between a reserve's refusal and its look for due
    holds, so the reserve finds none; it must still see that stock came back and try again
    (deterministic)."""
    service = arena.service
    service.set_on_hand("A", "WH1", 3)
    due = service.reserve(request((("A", "WH1", 3),), expiresInSeconds=60), "web").reservation
    arena.clock.advance(60)
    store = Store(arena.client, arena.table)
    store.reservations = SweptMeanwhile(store, service)
    api = arena.service_at(arena.now, store)

    outcome: Any
    try:
        outcome = api.reserve(request((("A", "WH1", 3),)), "web")
    except InsufficientStock as refused:
        outcome = refused

    assert arena.get(due.id).status is Status.EXPIRED
    arena.check_invariants()
    assert not isinstance(outcome, InsufficientStock), (
        f"refused with {arena.level('A', 'WH1')} (onHand, reserved, available) on the record"
    )
    assert arena.level("A", "WH1") == (3, 3, 0)


def test_release_racing_a_sweep_of_a_partially_released_hold(rounds: Rounds) -> None:
    """Partial releases computed before expiry race the sweep: every unit comes back once."""
    wins: Counter[str] = Counter()
    for round_ in range(3):
        with rounds(round_) as arena:
            arena.stock()
            ids = arena.holds(HOLDS * 2)
            side = arena.racers()
            part = [LineQuantity("A", "WH1", 1)]
            releases = side.staggered([partial(side.api.release, rid, part) for rid in ids])

            report, *outcomes = race(side.sweep, *releases)

            assert isinstance(report, SweepReport), report
            assert all(isinstance(o, Reservation | InvalidState) for o in outcomes), outcomes
            for rid, outcome in zip(ids, outcomes, strict=True):
                stored = arena.get(rid)
                # Either order ends EXPIRED: released first then swept, or swept and the
                # release refused.
                assert stored.status is Status.EXPIRED and released_everything(stored)
                if isinstance(outcome, InvalidState):
                    assert outcome.status == Status.EXPIRED
                    wins["swept first"] += 1
                else:  # released first, while still ACTIVE; the sweep released the rest
                    assert outcome.status is Status.ACTIVE
                    assert [(x.held, x.released) for x in outcome.lines] == [(1, 1), (1, 0)]
                    wins["released first"] += 1
            assert set(report.expired) == set(ids)
            arena.assert_reserved(holds=0)
            arena.check_invariants()
    assert_both_won(wins, "released first", "swept first")
