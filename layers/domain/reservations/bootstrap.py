"""Builds the service the way a Lambda function needs it at cold start.

botocore is used directly rather than boto3: importing boto3 costs a noticeable share of
a cold start and its resource layer is not used. Endpoints come from the standard
``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_DYNAMODB`` / ``AWS_ENDPOINT_URL_SQS``
variables, which botocore reads itself, so the same code talks to moto server, DynamoDB
Local or AWS.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import botocore.session
from botocore.config import Config

from .clock import Clock, SystemClock
from .config import Settings
from .service import ReservationService
from .store import Store

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_sqs.client import SQSClient

    from .erp import ErpService

# Retries of throttling and 5xx happen in botocore; conflicts are retried by the service.
CLIENT_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
    max_pool_connections=64,
)


def dynamodb_client(**overrides: Any) -> DynamoDBClient:
    session = botocore.session.get_session()
    return cast(
        "DynamoDBClient", session.create_client("dynamodb", config=CLIENT_CONFIG, **overrides)
    )


def sqs_client(**overrides: Any) -> SQSClient:
    session = botocore.session.get_session()
    return cast("SQSClient", session.create_client("sqs", config=CLIENT_CONFIG, **overrides))


def build_store(settings: Settings, client: DynamoDBClient | None = None) -> Store:
    return Store(
        client or dynamodb_client(),
        settings.table_name,
        receipt_retention_seconds=settings.erp_receipt_retention_seconds,
        idempotency_retention_seconds=settings.idempotency_retention_seconds,
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
