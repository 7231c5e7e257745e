"""The ERP function: DynamoDB requests per message, and messages per second.

1. Requests per message, counted on the wire with a botocore ``before-send`` handler
   while each message runs through ``erp_function.lambda_handler`` as an SQS record
   (its ``erp`` service swapped for one on the counting client), on DynamoDB Local.
   The target: one write (a transaction, or a single conditional write) per
   ``stock.set``, ``stock.adjust`` and by-id offset.
2. Messages per second through the handler, next to the raw rate of the same
   transaction. The handler runs in worker processes (Lambda execution environments),
   each handed SQS events of 10 ``stock.adjust`` records for its own sku; the raw path
   replays the exact ``TransactWriteItems`` the service sends for such a message (captured
   from the service with a ``before-parameter-build`` hook) with boto3, with as many
   threads as there are workers, so as many transactions are in flight on both paths.
   Rounds alternate (raw, handler, handler, raw, ...) after a warm-up.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from unittest import mock

from local.apigw import LambdaContext
from local.aws_events import erp_queue_arn, fifo_message, sqs_event, sqs_record
from local.invoke import find_function
from local.workers import WorkerPool
from reservations.bootstrap import build_erp_service, build_service
from reservations.config import Settings
from reservations.erp_messages import parse_message
from reservations.http.models import CreateReservationRequest

from .capture import Replay, capture
from .dynamodb_calls import RequestCounter
from .load import LoadResult, run_load
from .options import Options
from .report import Section, Table, Target, fmt_rate
from .stack import Stack, client

NAME = "erp"
TITLE = "ERP messages: DynamoDB requests per message, messages per second"
LOCATION = "WH1"
BATCH = 10
WRITES = {"TransactWriteItems", "UpdateItem", "PutItem"}
TEMPLATE_ID = "BENCHTEMPLATE0ADJUSTMENT0ID"


def _message(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, "schemaVersion": 1, "location": LOCATION, **fields})


@dataclass(frozen=True, slots=True)
class Case:
    label: str
    body: str
    writes_limit: int | None = None  # the target: one transaction


CASES = (
    Case("stock.set", _message("stock.set", sku="S", onHand=50, sequence=2), 1),
    Case("stock.set, late (stale sequence)", _message("stock.set", sku="S", onHand=9, sequence=1)),
    Case("stock.adjust, +5", _message("stock.adjust", adjustmentId="a1", sku="S", delta=5), 1),
    Case(
        "stock.adjust, duplicate delivery",
        _message("stock.adjust", adjustmentId="a1", sku="S", delta=5),
    ),
    Case("stock.adjust, -2", _message("stock.adjust", adjustmentId="a2", sku="S", delta=-2), 1),
    Case(
        "reservation.offset by id",
        _message("reservation.offset", offsetId="o1", reservationId="r1", sku="S", quantity=2),
        1,
    ),
    Case(
        "reservation.offset by id, duplicate delivery",
        _message("reservation.offset", offsetId="o1", reservationId="r1", sku="S", quantity=2),
    ),
    Case(
        "reservation.offset auto, over 2 holds",
        _message("reservation.offset", offsetId="o2", sku="S", quantity=4),
    ),
)


@contextlib.contextmanager
def _handler_with(erp: Any) -> Iterator[Callable[..., Any]]:
    import erp_function  # builds its own clients at import; its service is replaced

    with mock.patch.object(erp_function, "erp", erp):
        yield erp_function.lambda_handler


def _count(stack: Stack) -> list[tuple[Case, list[str], str]]:
    table_name = stack.new_table("erp-calls")
    stack.seed(table_name, {("S", LOCATION): 20})
    dynamodb = client(stack.endpoint)
    settings = Settings(table_name=table_name)
    service = build_service(settings, dynamodb)
    for rid in ("r1", "r2", "r3"):
        service.reserve(
            CreateReservationRequest.model_validate(
                {"id": rid, "items": [{"sku": "S", "location": LOCATION, "quantity": 3}]}
            ).to_command(),
            "default",
        )
    counter = RequestCounter(dynamodb)
    counted = []
    with _handler_with(build_erp_service(settings, dynamodb)) as handler:
        # As a warm execution environment: it has noted the location already (one write per
        # location and environment, docs/architecture.md), so the counts are steady state.
        warm = _message("stock.set", sku="S", onHand=20, sequence=1)
        handler(
            sqs_event([sqs_record(fifo_message(warm, "S"), erp_queue_arn())]), LambdaContext("erp")
        )
        for case in CASES:
            event = sqs_event([sqs_record(fifo_message(case.body, "S"), erp_queue_arn())])
            with counter.counting() as sent:
                response = handler(event, LambdaContext("erp"))
            failed = "failed" if response["batchItemFailures"] else "ok"
            counted.append((case, list(sent), failed))
    return counted


# --- throughput ---------------------------------------------------------------------------


def capture_adjust(endpoint: str, table_name: str, sku: str) -> dict[str, Any]:
    """The TransactWriteItems the service sends for one stock.adjust, never sent."""
    message = parse_message(_message("stock.adjust", adjustmentId=TEMPLATE_ID, sku=sku, delta=1))
    return capture(
        endpoint,
        lambda dynamodb: build_erp_service(Settings(table_name=table_name), dynamodb).apply(
            message
        ),
    )


class HandlerBatch:
    """One invocation of the ERP function in a worker: 10 stock.adjust records."""

    def __init__(self, pool: WorkerPool, sku: str) -> None:
        self._pool = pool
        self._sku = sku
        self._ids = itertools.count()

    def __call__(self) -> None:
        records = [
            sqs_record(
                fifo_message(
                    _message(
                        "stock.adjust",
                        adjustmentId=f"{self._sku}-{next(self._ids)}-{uuid.uuid4().hex[:8]}",
                        sku=self._sku,
                        delta=1,
                    ),
                    self._sku,
                ),
                erp_queue_arn(),
            )
            for _ in range(BATCH)
        ]
        response = self._pool.invoke(sqs_event(records))
        if response["batchItemFailures"]:
            raise RuntimeError(f"{len(response['batchItemFailures'])} record(s) failed")

    def close(self) -> None:
        pass


def _pool(stack: Stack, table_name: str, workers: int) -> WorkerPool:
    env = {**stack.function_env(table_name), "ERP_DEAD_LETTER_QUEUE_URL": ""}
    # Started before it returns: the workers' cold starts fall before the clock starts.
    return WorkerPool(find_function("erp"), env, workers).start()


def _throughput(stack: Stack, options: Options) -> tuple[LoadResult, LoadResult]:
    table_name = stack.new_table("erp-rate")
    workers = options.workers
    skus = [f"ERP-T{n:02d}" for n in range(workers)]
    stack.seed(table_name, {(sku, LOCATION): 0 for sku in skus})
    templates = [capture_adjust(stack.endpoint, table_name, sku) for sku in skus]
    pool = _pool(stack, table_name, workers)
    try:

        def raw(thread: int) -> Replay:
            return Replay(client(stack.endpoint), templates[thread], TEMPLATE_ID)

        def handler(thread: int) -> HandlerBatch:
            return HandlerBatch(pool, skus[thread])

        def measure(key: str, make: Callable[[int], Any], duration: float) -> LoadResult:
            return run_load(key, make, threads=workers, duration=duration, max_operations=100_000)

        measure("raw", raw, 2.0)  # warm-up of both paths
        measure("handler", handler, 2.0)
        totals: dict[str, LoadResult] = {}
        for index in range(options.rounds):
            order = [("raw", raw), ("handler", handler)]
            for key, make in order if index % 2 == 0 else reversed(order):
                result = measure(key, make, options.duration)
                totals[key] = totals[key].merge(result) if key in totals else result
        return totals["raw"], totals["handler"]
    finally:
        pool.stop()


def run(stack: Stack, options: Options) -> Section:
    counted = _count(stack)
    raw, handler = _throughput(stack, options)
    section = Section(NAME, TITLE)
    rows = []
    for case, calls, outcome in counted:
        writes = sum(1 for call in calls if call in WRITES)
        rows.append(
            [
                f"`{case.label}`",
                outcome,
                f"**{len(calls)}**",
                str(writes),
                " + ".join(calls) or "-",
                "-" if case.writes_limit is None else f"<= {case.writes_limit}",
            ]
        )
        if case.writes_limit is not None:
            section.targets.append(
                Target(
                    f"writes per `{case.label}`",
                    f"{case.writes_limit} transaction",
                    str(writes),
                    writes <= case.writes_limit,
                    hard=True,
                )
            )
    section.tables.append(
        Table(
            ["message", "record", "DynamoDB requests", "writes", "calls", "write limit"],
            rows,
            caption="Requests per message through `erp_function.lambda_handler`:",
        )
    )
    raw_rate = raw.rate
    handler_rate = handler.rate * BATCH
    section.tables.append(
        Table(
            ["path", "in flight", "messages", "errors", "messages/s"],
            [
                [
                    "raw `TransactWriteItems` (stock.adjust)",
                    str(raw.threads),
                    str(raw.operations),
                    str(raw.errors),
                    fmt_rate(raw_rate),
                ],
                [
                    f"ERP handler, batches of {BATCH}",
                    f"{handler.threads} workers",
                    str(handler.operations * BATCH),
                    str(handler.errors),
                    fmt_rate(handler_rate),
                ],
            ],
            caption=f"Messages per second, {options.rounds} alternating rounds of "
            f"{options.duration:g} s per path:",
        )
    )
    ratio = handler_rate / raw_rate if raw_rate else 0.0
    section.summary = [
        f"Handler over raw: **{ratio:.2f}** ({fmt_rate(handler_rate)} vs {fmt_rate(raw_rate)} "
        "messages/s). No target was set for this ratio; it shows what parsing, validation, "
        "Powertools batch processing and logging cost per message next to the transaction."
    ]
    if raw.errors or handler.errors:
        section.notes.append(f"errors: raw {raw.error_samples}, handler {handler.error_samples}")
    return section
