"""The flash-sale model (bench/model/): its rules, its stock and its retries behave as
designed. Simulated time only, fixed seeds: no result here depends on the machine."""

from __future__ import annotations

import random

import pytest

from bench.model import sweep
from bench.model.buckets import Buckets
from bench.model.parameters import (
    FLASH_SALE_QUANTITIES,
    AwsTiming,
    LocalTiming,
    Quantities,
    Scenario,
)
from bench.model.reserve import backoff
from bench.model.simulation import simulate
from local.contention.latency import Latency
from local.contention.rules import PARTITION_WCU_PER_SECOND, Limits
from reservations.store.retry import RetryPolicy

UNLIMITED = Limits(conflicts=False, partition_wcu_per_second=None)
NO_CONFLICTS = Limits(conflicts=False, burst_seconds=0.1)


def test_without_conflicts_or_limits_every_request_is_granted() -> None:
    result = simulate(
        Scenario(buckets=4, arrivals_per_second=2000, duration=0.5, warm_up=0, limits=UNLIMITED)
    )

    assert result.tally.arrived > 900
    assert result.tally.granted == result.tally.arrived
    assert result.attempts == result.tally.arrived  # one attempt each, none retried


def test_without_conflicts_or_limits_the_stock_is_granted_to_the_last_unit() -> None:
    result = simulate(
        Scenario(
            buckets=4,
            arrivals_per_second=2000,
            duration=0.5,
            warm_up=0,
            stock=300,
            limits=UNLIMITED,
        )
    )

    assert result.tally.granted == min(result.tally.arrived, 300) == 300
    assert result.tally.refused == result.tally.arrived - 300
    assert result.left == 0


@pytest.mark.parametrize("limits", [NO_CONFLICTS, Limits(burst_seconds=0.1)])
def test_one_bucket_never_takes_more_than_half_a_partitions_write_units(limits: Limits) -> None:
    result = simulate(
        Scenario(
            buckets=1,
            arrivals_per_second=3000,
            duration=0.4,
            warm_up=0,
            limits=limits,
            timing=AwsTiming(ongoing_fraction=0.05),  # short windows: the limit binds first
        )
    )

    # 2 write units per transactional item: at most 500 a second, plus the bucket's burst.
    units = PARTITION_WCU_PER_SECOND * (result.finished + limits.burst_seconds)
    assert result.tally.granted <= units / 2
    assert result.throttle_rate > 0


def test_one_bucket_commits_at_most_one_transaction_per_conflict_window() -> None:
    timing = AwsTiming(latency=Latency.parse("constant:10ms"), ongoing_fraction=0.5)
    result = simulate(
        Scenario(buckets=1, arrivals_per_second=2000, duration=0.5, warm_up=0.1, timing=timing)
    )

    # Ongoing 5 ms each, and nothing else may touch the bucket meanwhile: 200 a second.
    assert 150 < result.rate <= 200
    assert result.throttle_rate == 0  # 400 write units a second: under the limit


@pytest.mark.parametrize("buckets", [1, 3, 16, 64])
@pytest.mark.parametrize("limits", [Limits(burst_seconds=0.1), UNLIMITED])
def test_no_scenario_oversells(buckets: int, limits: Limits) -> None:
    result = simulate(
        Scenario(
            buckets=buckets,
            arrivals_per_second=3000,
            duration=0.5,
            warm_up=0,
            stock=700,
            quantities=FLASH_SALE_QUANTITIES,
            limits=limits,
        )
    )

    assert result.oversold == 0
    assert result.conserved
    assert result.tally.granted_units <= 700


def test_nothing_is_refused_while_the_total_covers_the_line() -> None:
    result = simulate(
        Scenario(
            buckets=32,
            arrivals_per_second=2000,
            duration=0.5,
            warm_up=0,
            stock=200,  # a handful per bucket: lines of 2 or 3 often find none with enough
            quantities=FLASH_SALE_QUANTITIES,
            limits=UNLIMITED,
        )
    )

    assert result.tally.gave_up == 0
    assert result.tally.rebalances > 0  # lines that no single bucket covered were granted
    assert result.left is not None
    assert result.left < FLASH_SALE_QUANTITIES.largest  # sold out to within one line


def test_a_rebalance_grants_a_line_that_no_single_bucket_covers() -> None:
    result = simulate(
        Scenario(
            buckets=2,
            clients=1,
            duration=1.0,
            warm_up=0,
            stock=2,
            quantities=Quantities((0.0, 1.0)),  # always 2 units: each bucket has 1
        )
    )

    assert (result.tally.granted, result.tally.granted_units) == (1, 2)
    assert result.tally.rebalances == 1
    assert result.left == 0


def test_a_move_is_conditioned_on_what_the_donors_still_have() -> None:
    buckets = Buckets(3, stock=3)
    move = buckets.plan_move(3)
    assert move is not None
    assert buckets.take(move.donors[0], 1)  # a reserve empties a donor first

    assert not buckets.apply(move)
    assert buckets.available == [1, 0, 1]  # nothing moved
    assert buckets.conserved


def test_more_buckets_never_grant_fewer_holds_at_high_load() -> None:
    rates = [
        simulate(Scenario(buckets=n, arrivals_per_second=10_000, duration=0.1, warm_up=0.05)).rate
        for n in (1, 4, 16, 64)
    ]

    assert rates == sorted(rates)
    assert rates[-1] > 10 * rates[0]


def test_the_back_off_is_the_services_policy() -> None:
    policy = RetryPolicy()
    rng = random.Random(1)
    for attempt in range(policy.attempts):
        cap = min(policy.max_delay, policy.base_delay * 2**attempt)
        drawn = [backoff(policy, attempt, rng) for _ in range(200)]
        assert all(0 <= delay <= cap for delay in drawn)
        assert max(drawn) > 0.9 * cap  # full jitter: the whole range, not a fixed step
        assert 0 <= policy.delay(attempt) <= cap


def test_a_request_gives_up_after_the_policys_attempts() -> None:
    result = simulate(Scenario(buckets=1, arrivals_per_second=5000, duration=0.2, warm_up=0))

    assert result.tally.gave_up > 0
    retries = RetryPolicy().attempts
    assert result.attempts <= result.tally.arrived * retries


def test_the_same_seed_gives_the_same_run() -> None:
    scenario = Scenario(buckets=16, arrivals_per_second=2000, duration=0.2)

    first, second = simulate(scenario), simulate(scenario)

    assert first.tally == second.tally
    assert first.answers == second.answers


def test_on_this_machine_the_engine_serializes_transactions() -> None:
    timing = LocalTiming(
        reserve_seconds=0.0, attempt_seconds=0.002, refused_seconds=0.001, engine_seconds=0.01
    )
    result = simulate(
        Scenario(clients=8, duration=2.0, warm_up=0.2, limits=UNLIMITED, timing=timing)
    )

    # One transaction at a time, 10 ms each on average: about 100 a second, never more
    # than the engine's time allows.
    assert 80 < result.rate <= 105


def test_the_recommended_policy_sells_out_without_losing_a_request_with_stock_left() -> None:
    """The sharded path's retry policy (docs/architecture.md, "Sharded stock") at its
    recommended bucket count: the end of a sell-out, where the last units sit in a few
    buckets, loses no request while the total still covers it, and oversells nothing."""
    scenario = sweep.scarce_scenario(sweep.RECOMMENDED_BUCKETS).but(retry=sweep.SHARDED_RETRY)
    result = simulate(scenario)
    assert result.tally.gave_up_with_stock == 0
    assert result.oversold == 0 and result.conserved
    assert result.tally.granted_units == sweep.SCARCE_STOCK
