from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from reservations.errors import Contention
from reservations.store import WriteConflict, retry
from reservations.store.retry import RetryPolicy, with_retries
from reservations.store.transact import CancellationReason, TransactionCancelled, conflict_or

POLICY = RetryPolicy(attempts=4, base_delay=0.01, max_delay=0.05)


def scripted(*outcomes: Exception | None) -> tuple[list[str], object]:
    tokens: list[str] = []
    pending = list(outcomes)

    def write(token: str) -> str:
        tokens.append(token)
        outcome = pending.pop(0)
        if outcome is not None:
            raise outcome
        return "done"

    return tokens, write


def test_ambiguous_failures_repeat_the_same_token() -> None:
    tokens, write = scripted(ReadTimeoutError(endpoint_url="x"), None)
    assert with_retries(write, POLICY, sleep=lambda _: None) == "done"  # type: ignore[arg-type]
    assert len(tokens) == 2 and tokens[0] == tokens[1]
    # A ClientRequestToken DynamoDB takes: 1 to 36 characters.
    assert isinstance(tokens[0], str) and len(tokens[0]) == 32


def test_conflicts_get_a_fresh_token() -> None:
    tokens, write = scripted(WriteConflict("c"), WriteConflict("c"), None)
    with_retries(write, POLICY, sleep=lambda _: None)  # type: ignore[arg-type]
    assert len(set(tokens)) == 3


def test_bounded_with_growing_jittered_delays() -> None:
    delays: list[float] = []
    _, write = scripted(*[WriteConflict("c")] * 4)
    with pytest.raises(Contention):
        with_retries(write, POLICY, sleep=delays.append)  # type: ignore[arg-type]
    assert len(delays) == 3
    assert all(0 <= d <= POLICY.base_delay * 2**i for i, d in enumerate(delays))


def test_other_errors_are_not_retried() -> None:
    error = ClientError(
        {"Error": {"Code": "ValidationException", "Message": "no"}}, "TransactWriteItems"
    )
    tokens, write = scripted(error)
    with pytest.raises(ClientError):
        with_retries(write, POLICY, sleep=lambda _: None)  # type: ignore[arg-type]
    assert len(tokens) == 1


def test_in_progress_is_ambiguous() -> None:
    error = ClientError(
        {"Error": {"Code": "TransactionInProgressException", "Message": "busy"}}, "X"
    )
    tokens, write = scripted(error, None)
    with_retries(write, POLICY, sleep=lambda _: None)  # type: ignore[arg-type]
    assert tokens[0] == tokens[1]


def test_each_delay_is_drawn_below_a_ceiling_that_doubles_up_to_the_maximum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    drawn: list[tuple[float, float]] = []

    def highest(low: float, high: float) -> float:
        drawn.append((low, high))
        return high

    monkeypatch.setattr(retry.random, "uniform", highest)
    policy = RetryPolicy(attempts=9, base_delay=0.01, max_delay=0.05)
    assert [policy.delay(n) for n in range(5)] == [0.01, 0.02, 0.04, 0.05, 0.05]
    assert {low for low, _ in drawn} == {0}


@pytest.mark.parametrize(
    ("error", "ambiguous"),
    [
        (ReadTimeoutError(endpoint_url="x"), True),
        (ConnectionClosedError(endpoint_url="x"), True),
        *[
            (ClientError({"Error": {"Code": code, "Message": "m"}}, "X"), True)
            for code in (
                "TransactionInProgressException",
                "TransactionConflictException",
                "ThrottlingException",
                "ProvisionedThroughputExceededException",
                "InternalServerError",
                "RequestLimitExceeded",
            )
        ],
        (ClientError({"Error": {"Code": "ConditionalCheckFailedException"}}, "X"), False),
        (ClientError({}, "X"), False),  # an answer without an error code
        (WriteConflict("c"), False),  # certainly not applied: a fresh token, not the same
        (RuntimeError("bug"), False),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_which_failures_may_have_been_applied(error: Exception, ambiguous: bool) -> None:
    assert retry.is_ambiguous(error) is ambiguous


def test_the_last_failure_gives_up_with_the_attempts_and_the_cause() -> None:
    last = ReadTimeoutError(endpoint_url="the-endpoint")
    tokens, write = scripted(WriteConflict("c"), last)
    with pytest.raises(Contention, match="gave up after 2 attempts") as gave_up:
        with_retries(write, RetryPolicy(attempts=2), sleep=lambda _: None)  # type: ignore[arg-type]
    assert gave_up.value.__cause__ is last
    assert len(tokens) == 2


def test_a_write_that_succeeds_at_once_never_sleeps() -> None:
    delays: list[float] = []
    tokens, write = scripted(None)
    assert with_retries(write, POLICY, sleep=delays.append) == "done"  # type: ignore[arg-type]
    assert (delays, len(tokens)) == ([], 1)


def test_a_plain_write_refused_by_an_ongoing_transaction_is_retried() -> None:
    error = ClientError(
        {"Error": {"Code": "TransactionConflictException", "Message": "ongoing"}}, "UpdateItem"
    )
    tokens, write = scripted(error, None)
    assert with_retries(write, POLICY, sleep=lambda _: None) == "done"  # type: ignore[arg-type]
    assert len(tokens) == 2


@pytest.mark.parametrize("code", ["ThrottlingError", "ProvisionedThroughputExceeded"])
def test_a_throttled_transaction_is_retried_like_a_conflict(code: str) -> None:
    cancelled = TransactionCancelled(
        [CancellationReason("None", None), CancellationReason(code, None)]
    )
    assert isinstance(conflict_or(cancelled), WriteConflict)


def test_a_cancellation_for_another_reason_is_not_retried() -> None:
    cancelled = TransactionCancelled([CancellationReason("ValidationError", None)])
    assert conflict_or(cancelled) is cancelled
