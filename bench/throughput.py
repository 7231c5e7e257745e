"""Reserve throughput: the raw DynamoDB transaction against ``POST /reservations``.

Both paths run against the same DynamoDB Local and table with the same number of client
threads, in rounds whose order alternates (raw, API, ... then ..., API, raw) after a
warm-up, so the engine's JIT warming up and its table growing favour neither.

- raw: the exact ``TransactWriteItems`` the service sends for the request, captured from
  the service itself with a ``before-parameter-build`` hook, replayed with boto3 with a
  fresh reservation id and ``ClientRequestToken`` each time. The engine's limit.
- API: the same request as JSON over real HTTP (one keep-alive ``http.client``
  connection per thread) to ``local.server.LocalApi``, which runs the real Lambda
  handler in worker processes like Lambda execution environments.
- raw with as many threads as the API has workers: the API's workers also cap how many
  transactions are in flight; this shows what the engine does at that concurrency.
- API without a location (issue 14): the same cart with no ``location`` on its lines and a
  ``shipTo``, over 3 registered warehouses: each reserve reads its candidates' stock
  (one BatchGetItem) before its transaction. Compared with the API path, >= 0.8.

Every thread reserves its own SKUs, so no two transactions contend; stock is seeded
far above what a run can take, so every reserve is granted (checked at the end).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3

from reservations.bootstrap import CLIENT_CONFIG
from reservations.records import Location
from reservations.store import Store

from . import cpu
from .capture import Replay
from .load import Client, LoadResult, run_load
from .options import Options
from .report import Section
from .reserve_requests import (
    LINES_PER_RESERVATION,
    LOCATION,
    TEMPLATE_ID,
    WAREHOUSES,
    ApiReserve,
    capture_transaction,
    skus,
    unlocated_body,
    unlocated_skus,
)
from .stack import REGION, Stack, client
from .worker_log import WORKER_STDOUT, count_lines, shown, stdout_to

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient


NAME = "throughput"
TITLE = "Reserve throughput: raw TransactWriteItems vs POST /reservations"
TARGET_RATIO = 0.5
TARGET_UNLOCATED_RATIO = 0.8
# Issue 15: a reserve never reads the measures, so a deployment's formula costs it nothing.
FOUR_MEASURES = "onHand + inbound - outbound - safetyStock"
TARGET_FORMULA_RATIO = 0.95
ON_HAND = 1_000_000_000
# A reservation id that appears nowhere else in the captured transaction.
WARM_UP_SECONDS = 4.0
MAX_OPERATIONS_PER_THREAD = 100_000
API_START_TIMEOUT_SECONDS = 180.0
WARM_UP_ENGINE_TRANSACTIONS = 1_500
WARM_UP_MAX_SECONDS = 45.0


# --- the run ------------------------------------------------------------------------------


@dataclass(slots=True)
class Measured:
    load: LoadResult
    cpu: cpu.CpuSample

    def __add__(self, other: Measured) -> Measured:
        return Measured(
            self.load.merge(other.load),
            cpu.CpuSample(
                wall=self.cpu.wall + other.cpu.wall,
                bench=self.cpu.bench + other.cpu.bench,
                engine=self.cpu.engine + other.cpu.engine,
                workers=self.cpu.workers + other.cpu.workers,
                available=self.cpu.available and other.cpu.available,
            ),
        )


@dataclass(frozen=True, slots=True)
class LoadPath:
    key: str
    label: str
    threads: int
    make: Callable[[int], Client]
    workers: int | None = None

    def measure(self, stack: Stack, duration: float) -> Measured:
        before = cpu.sample(stack.pid)
        load = run_load(
            self.key,
            self.make,
            threads=self.threads,
            duration=duration,
            max_operations=MAX_OPERATIONS_PER_THREAD,
        )
        return Measured(load, cpu.sample(stack.pid) - before)


def _start_warming(api: Any, warm: Callable[[], Measured]) -> list[Measured]:
    """Start the API (its workers, with stdout to a log) while ``warm`` runs, repeatedly.

    DynamoDB Local's JIT needs a thousand or so transactions before its cost per
    transaction settles (several times lower than at first), so the warm-up goes on
    after the workers are up until that many are done, within a time bound.
    Returns the warm-up runs, for the final count of granted reserves.
    """
    failure: list[BaseException] = []

    def start() -> None:
        try:
            api.start()
        except BaseException as error:
            failure.append(error)

    warmed: list[Measured] = []
    started = time.monotonic()
    with stdout_to(WORKER_STDOUT):
        starting = threading.Thread(target=start, name="local-api-start", daemon=True)
        starting.start()
        while time.monotonic() - started < WARM_UP_MAX_SECONDS and (
            starting.is_alive()
            or sum(m.load.operations for m in warmed) < WARM_UP_ENGINE_TRANSACTIONS
        ):
            warmed.append(warm())
        starting.join(timeout=max(0.0, started + API_START_TIMEOUT_SECONDS - time.monotonic()))
    if failure:
        raise failure[0]
    if starting.is_alive():
        raise RuntimeError(f"LocalApi did not start in {API_START_TIMEOUT_SECONDS:.0f} s")
    return warmed


def _stock_check(
    endpoint: str, table_name: str, threads: int, granted: int, of: Callable[[int], list[str]]
) -> str:
    """Every granted reserve holds one unit of each line's SKU; nothing more, nothing less."""
    table = Store(client(endpoint), table_name)
    reserved = [
        sum(level.reserved for level in table.stock.get_inventory(sku).locations)
        for thread in range(threads)
        for sku in of(thread)
    ]
    held = sum(reserved) // LINES_PER_RESERVATION
    if held == granted:
        return f"stock check: {held:,} reservations held = {granted:,} granted, none refused"
    return (
        f"stock check MISMATCH: {held:,} reservations held but {granted:,} answered as "
        "granted (failed answers of writes that happened, or lost writes)"
    )


def _register_warehouses(endpoint: str, table_name: str) -> None:
    """Three warehouses shipping to France; the API's workers read them once, then cache."""
    table = Store(client(endpoint), table_name)
    for priority, name in enumerate(WAREHOUSES, start=1):
        location = Location(name, country="FR", priority=priority, active=True, ships_to=("FR",))
        table.locations.register(location, token=uuid.uuid4().hex)


def run(stack: Stack, options: Options) -> Section:
    from local.server import LocalApi  # written alongside; imported only when needed

    endpoint = stack.endpoint
    table_name = stack.new_table(NAME)
    stack.seed(
        table_name,
        {(sku, LOCATION): ON_HAND for thread in range(options.threads) for sku in skus(thread)},
    )
    stack.seed(
        table_name,
        {
            (sku, warehouse): ON_HAND
            for thread in range(options.threads)
            for sku in unlocated_skus(thread)
            for warehouse in WAREHOUSES
        },
    )
    _register_warehouses(endpoint, table_name)
    templates = [capture_transaction(endpoint, table_name, t) for t in range(options.threads)]
    dynamodb: DynamoDBClient = boto3.session.Session().client(
        "dynamodb", endpoint_url=endpoint, region_name=REGION, config=CLIENT_CONFIG
    )

    def make_raw(thread: int) -> Client:
        return Replay(dynamodb, templates[thread], TEMPLATE_ID)

    api = LocalApi(port=0, workers=options.workers, env=stack.function_env(table_name), quiet=True)
    formula_env = {**stack.function_env(table_name), "SUPPLY_FORMULA": FOUR_MEASURES}
    api_formula = LocalApi(port=0, workers=options.workers, env=formula_env, quiet=True)
    raw = LoadPath("raw", "raw `TransactWriteItems` (boto3)", options.threads, make_raw)

    def make_api(thread: int) -> Client:
        return ApiReserve(api.url, thread)

    through_api = LoadPath(
        "api",
        "`POST /reservations` (HTTP, LocalApi)",
        options.threads,
        make_api,
        workers=options.workers,
    )
    raw_capped = LoadPath(
        "raw-capped",
        "raw, threads = API workers",
        min(options.workers, options.threads),
        make_raw,
    )

    def make_unlocated(thread: int) -> Client:
        return ApiReserve(api.url, thread, unlocated_body)

    unlocated = LoadPath(
        "api-unlocated",
        "`POST /reservations` without a location (3 warehouses)",
        options.threads,
        make_unlocated,
        workers=options.workers,
    )

    def make_formula(thread: int) -> Client:
        return ApiReserve(api_formula.url, thread)

    formula = LoadPath(
        "api-formula",
        "`POST /reservations`, supply formula of 4 measures",
        options.threads,
        make_formula,
        workers=options.workers,
    )
    paths = (raw, through_api, raw_capped, unlocated, formula)
    runs: dict[str, list[Measured]] = {path.key: [] for path in paths}
    try:
        # The engine's JIT warms up while the workers start (they only import the handler).
        warm_up = _start_warming(api, lambda: raw.measure(stack, WARM_UP_SECONDS))
        warm_up.append(through_api.measure(stack, WARM_UP_SECONDS))
        with stdout_to(WORKER_STDOUT):
            api_formula.start()
        warm_up.append(formula.measure(stack, WARM_UP_SECONDS))
        warm_unlocated = unlocated.measure(stack, WARM_UP_SECONDS)
        for round_ in range(options.rounds):
            for path in paths if round_ % 2 == 0 else reversed(paths):
                runs[path.key].append(path.measure(stack, options.duration))
    finally:
        api.stop()
        api_formula.stop()
    located = [
        *warm_up,
        *(m for key, measured in runs.items() if key != unlocated.key for m in measured),
    ]
    granted = sum(m.load.operations for m in located)
    granted_unlocated = warm_unlocated.load.operations + sum(
        m.load.operations for m in runs[unlocated.key]
    )
    notes = [
        _stock_check(endpoint, table_name, options.threads, granted, skus),
        "without a location: "
        + _stock_check(endpoint, table_name, options.threads, granted_unlocated, unlocated_skus),
    ]
    printed = count_lines(WORKER_STDOUT)
    if printed:
        notes.append(
            f"The workers printed {printed} line(s) to stdout (Powertools EMF metrics; "
            f"kept in `{shown(WORKER_STDOUT)}`)."
        )
    from .throughput_section import section_of  # it reads this module's constants

    return section_of(options, templates[0], paths, runs, notes)
