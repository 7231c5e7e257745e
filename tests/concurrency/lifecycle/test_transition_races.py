"""Lifecycle transitions racing each other on DynamoDB Local: each hold has exactly one fate.

A confirm, an extend or a partial release racing the sweep, a cancel racing a fulfil, two
sweepers racing each other. Whatever the interleaving, exactly one side wins, the loser is
refused with the winner's status, and stock moves exactly once.

A race with two possible winners runs its rounds in one test, each round on a table of its
own, and each side must win at least once across them: a race that always goes one way
would say nothing about the other.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

from reservations.errors import InvalidState
from reservations.lifecycle import LineQuantity
from reservations.records import Reservation, Status
from reservations.service import SweepReport
from tests.support.cart_arena import (
    CART,
    EXPIRES_IN,
    GRACE,
    HOLDS,
    ROUNDS,
    STOCK,
    Rounds,
    assert_both_won,
    holds_everything,
    released_everything,
)
from tests.support.race import race


def assert_sweep_accounts_for(report: SweepReport, expired: set[str]) -> None:
    assert len(report.expired) == len(set(report.expired))
    assert set(report.expired) == expired
    assert report.due == len(report.expired) + report.skipped


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


# --- a partial release against the sweeper ----------------------------------------------


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
