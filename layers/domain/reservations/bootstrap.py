"""Builds the service the way a Lambda function needs it at cold start.

botocore is used directly rather than boto3: importing boto3 costs a noticeable share of
a cold start and its resource layer is not used. Endpoints come from the standard
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL_SQS``
variables, which botocore reads itself, so the same code talks to moto server, DynamoDB
Local or AWS.
"""

from __future__ import annotations

import gzip
import json
import os
from typing import TYPE_CHECKING, Any, cast

import botocore.session
from botocore.config import Config
from botocore.loaders import JSONFileLoader, Loader

from .clock import Clock, SystemClock
from .config import DEAD_LETTER_RETENTION_SECONDS, Settings
from .service import ReservationService
from .store import Store

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_sqs.client import SQSClient

    from .erp import ErpService
    from .events.relay import EventRelay
    from .operations import Operations
    from .store.notices import DeadLetterNotices

# Retries of throttling and 5xx happen in botocore; conflicts are retried by the service.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
    max_pool_connections=64,
    parameter_validation=False,
)


# Every AWS service the functions call.
SERVICES = ("dynamodb", "events", "sqs", "ssm")


class PlainJSONFileLoader(JSONFileLoader):
    """botocore's model files decoded into plain dicts, which keep their order as botocore's
    OrderedDicts do: endpoints.json alone (1.2 MB, read by every new session) decodes in
    less than half the time."""

    def load_file(self, file_path: str) -> Any:
        for path, opener in ((f"{file_path}.json", open), (f"{file_path}.json.gz", gzip.open)):
            if os.path.isfile(path):
                with opener(path, "rb") as found:
                    return json.loads(found.read().decode("utf-8"))
        return None


class KnownServicesLoader(Loader):
    """botocore's loader, told which services exist. Otherwise each new session lists every
    service's folder (about 400, twice) only to check that a name is among them: 20 to
    30 ms of a cold start (docs/performance.md, "Cold start")."""

    FILE_LOADER_CLASS = PlainJSONFileLoader

    def list_available_services(self, type_name: str) -> list[str]:
        return list(SERVICES)


def session() -> botocore.session.Session:
    """A botocore session whose loader knows ``SERVICES``; like botocore's own, it also
    searches ``AWS_DATA_PATH``."""
    made = botocore.session.get_session()
    data_path = made.get_config_variable("data_path")
    extra = data_path.split(os.pathsep) if data_path else None
    paths = [os.path.expanduser(os.path.expandvars(path)) for path in extra or ()]
    made.register_component("data_loader", KnownServicesLoader(extra_search_paths=paths))
    return made


def dynamodb_client(**overrides: Any) -> DynamoDBClient:
    return cast(
        "DynamoDBClient", session().create_client("dynamodb", config=CLIENT_CONFIG, **overrides)
    )


def sqs_client(**overrides: Any) -> SQSClient:
    return cast("SQSClient", session().create_client("sqs", config=CLIENT_CONFIG, **overrides))


def build_store(settings: Settings, client: DynamoDBClient | None = None) -> Store:
    return Store(
        client or dynamodb_client(),
        settings.table_name,
        receipt_retention_seconds=settings.erp_receipt_retention_seconds,
        idempotency_retention_seconds=settings.idempotency_retention_seconds,
        formula=settings.supply_formula,
        movement_retention_seconds=settings.movement_retention_seconds,
    )


def build_service(
    settings: Settings | None = None,
    client: DynamoDBClient | None = None,
    clock: Clock | None = None,
) -> ReservationService:
    settings = settings or Settings.from_env()
    return ReservationService(build_store(settings, client), clock or SystemClock(), settings)


def build_erp_service(
    settings: Settings | None = None,
    client: DynamoDBClient | None = None,
    clock: Clock | None = None,
) -> ErpService:
    # Imported here: the API function never needs the ERP service, so its cold start
    # does not pay for it (or for the ERP message models it imports).
    from .erp import ErpService

    settings = settings or Settings.from_env()
    return ErpService(build_store(settings, client), clock or SystemClock(), settings)


def events_client(**overrides: Any) -> Any:
    """EventBridge (botocore's service id ``events``; its endpoint variable is
    ``AWS_ENDPOINT_URL_EVENTBRIDGE``)."""
    return session().create_client("events", config=CLIENT_CONFIG, **overrides)


def build_event_relay(
    settings: Settings | None = None,
    client: DynamoDBClient | None = None,
    events: Any = None,
    bus_name: str | None = None,
) -> EventRelay:
    # Imported here: only the events function publishes.
    from .events.bus import EventBus
    from .events.relay import EventRelay
    from .events.sharded_totals import ShardedTotals
    from .store import Store
    from .store.movements import MovementStore
    from .store.snapshots import LineSnapshots
    from .store.stock_alerts import StockAlerts

    settings = settings or Settings.from_env()
    bus = EventBus(events or events_client(), bus_name or os.environ.get("EVENT_BUS_NAME", ""))
    dynamodb = client or dynamodb_client()
    movements = MovementStore(dynamodb, settings.table_name, settings.movement_retention_seconds)
    stock = Store(dynamodb, settings.table_name).stock
    totals = ShardedTotals(stock.get_level, StockAlerts(dynamodb, settings.table_name))
    return EventRelay(LineSnapshots(dynamodb, settings.table_name), bus, movements, totals)


def build_notices(settings: Settings | None = None, client: Any = None) -> DeadLetterNotices:
    """The ERP function's dead-letter notices, kept as long as the DLQ keeps a message."""
    from .store.notices import DeadLetterNotices

    settings = settings or Settings.from_env()
    return DeadLetterNotices(
        client or dynamodb_client(), settings.table_name, DEAD_LETTER_RETENTION_SECONDS
    )


def build_operations(settings: Settings | None = None) -> Operations:
    """The operator routes' service: the ERP queues from the environment (none configured:
    the dead-letter routes answer 404)."""
    from .operations import Operations

    settings = settings or Settings.from_env()
    dead_letters = os.environ.get("ERP_DEAD_LETTER_QUEUE_URL", "")
    return Operations(
        build_store(settings),
        sqs_client() if dead_letters else None,
        os.environ.get("ERP_QUEUE_URL", ""),
        dead_letters,
        drift_max_items=int(os.environ.get("DRIFT_MAX_ITEMS") or 50_000),
        supply_formula=settings.supply_formula,
    )
