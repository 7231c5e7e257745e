"""botocore event hooks on a test's DynamoDB client: see each request as sent, or change an
answer the way an engine other than the test's would give it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError


@contextmanager
def hooked(client: Any, event: str, handler: Any) -> Iterator[None]:
    client.meta.events.register(event, handler)
    try:
        yield
    finally:
        client.meta.events.unregister(event, handler)


@contextmanager
def requests_seen(client: Any) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """(operation, parameters) of every request the client sends meanwhile."""
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        seen.append((model.name, dict(params)))

    with hooked(client, "before-parameter-build.dynamodb", record):
        yield seen


@contextmanager
def without_old_items(client: Any, operation: str) -> Iterator[None]:
    """Refusals of ``operation`` come back without the item as it was, as from an engine
    that ignores ``ReturnValuesOnConditionCheckFailure``."""

    def strip(parsed: dict[str, Any], **_: Any) -> None:
        if "Error" in parsed:
            parsed.pop("Item", None)

    with hooked(client, f"after-call.dynamodb.{operation}", strip):
        yield


def transaction_conflict(items: int) -> ClientError:
    """What real DynamoDB answers when another transaction holds one of the items."""
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": "TransactionConflict"} for _ in range(items)],
        },
        "TransactWriteItems",
    )


@contextmanager
def conflicts(client: Any, count: int) -> Iterator[list[dict[str, Any]]]:
    """The next ``count`` transactions are cancelled as conflicts before they reach the engine;
    yields the parameters of every transaction sent."""
    sent: list[dict[str, Any]] = []
    left = [count]

    def maybe_conflict(params: dict[str, Any], **_: Any) -> None:
        sent.append(params)
        if left[0]:
            left[0] -= 1
            raise transaction_conflict(len(params["TransactItems"]))

    with hooked(client, "before-parameter-build.dynamodb.TransactWriteItems", maybe_conflict):
        yield sent
