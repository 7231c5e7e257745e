"""Settings read once from the environment, as Lambda and the local runner provide them."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .supply import (
    DEFAULT_FORMULA,
    STANDARD_MEASURES,
    Formula,
    FormulaError,
    measure_names,
    parse,
)

MINUTE = 60
DAY = 24 * 60 * MINUTE
# One transaction carries at most 100 items: the reservation header, for each line its
# stock record and its line item, and an idempotency key's answer.
MAX_LINES = 49
# The longest lifetime of a hold, the API's own limit; a deployment may set a shorter one
# (template parameter MaxExpiresInSeconds).
MAX_EXPIRES_IN_SECONDS = 30 * DAY
# Longer than SQS keeps a message (at most 14 days) in the queue and again in its
# dead-letter queue, so a redelivery or a redrive from the DLQ is still recognised.
ERP_RECEIPT_RETENTION_SECONDS = 35 * DAY
# The ERP dead-letter queue's retention (14 days): a notice of a dead letter lives as long.
DEAD_LETTER_RETENTION_SECONDS = 14 * DAY
# How long an idempotency key's answer is replayed (the IETF draft suggests at least 24 h).
IDEMPOTENCY_RETENTION_SECONDS = DAY
# How long a request holds its key before a repeat may take it over: longer than API
# Gateway waits for the function (29 s), so the holder is surely gone by then.
IDEMPOTENCY_LEASE_SECONDS = MINUTE
# How long the movement ledger keeps a movement before TTL may delete it.
MOVEMENT_RETENTION_SECONDS = 90 * DAY
LOCAL_PAGE_TOKEN_SECRET = "local-development-only"  # noqa: S105 - never deployed


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:  # a misconfigured deployment must fail loudly at start
        raise ValueError(f"environment variable {name} must be an integer, got {raw!r}") from exc


def _supply_env() -> tuple[Formula, tuple[str, ...]]:
    """SUPPLY_FORMULA over the standard measures and STOCK_MEASURES (comma-separated names);
    a deployment that set either wrongly does not start."""
    extra = [x.strip() for x in os.environ.get("STOCK_MEASURES", "").split(",") if x.strip()]
    try:
        measures = measure_names(extra)
        return parse(os.environ.get("SUPPLY_FORMULA") or "onHand", measures), measures
    except FormulaError as error:
        raise FormulaError(f"SUPPLY_FORMULA / STOCK_MEASURES: {error}") from None


@dataclass(frozen=True, slots=True)
class Settings:
    table_name: str
    default_expires_in_seconds: int = 15 * MINUTE
    max_expires_in_seconds: int = MAX_EXPIRES_IN_SECONDS
    # How long a hold record is kept after it ends before DynamoDB TTL may delete it.
    hold_retention_seconds: int = 30 * DAY
    # How long past its expiry an unswept ACTIVE hold is kept before TTL may delete it:
    # the sweeper's head start over the stream backstop.
    expiry_grace_seconds: int = 60 * MINUTE
    max_body_bytes: int = 64 * 1024
    # How far below zero allowOversell lines may take a stock record's available, in all:
    # a bound no request can pass, so no channel can block a sku for every other one.
    max_oversell_per_record: int = 100
    # Due holds read from the expiry index per round, and released at once per sweep.
    sweep_batch_limit: int = 500
    sweep_concurrency: int = 8
    erp_receipt_retention_seconds: int = ERP_RECEIPT_RETENTION_SECONDS
    # How long one delivery of an auto offset may work on it before another may take over:
    # longer than the ERP function's timeout, so the first is surely gone by then.
    erp_claim_lease_seconds: int = 2 * MINUTE
    idempotency_retention_seconds: int = IDEMPOTENCY_RETENTION_SECONDS
    # Signs the nextToken of search pages: the template passes a generated secret; the
    # default is the local stack's and the tests'.
    page_token_secret: str = LOCAL_PAGE_TOKEN_SECRET
    # What GET /health says is deployed (template parameter ServiceVersion).
    service_version: str = "unversioned"
    # GET /openapi.json and /swagger answer only when this is on (EnableApiDocs).
    api_docs_enabled: bool = False
    # How long an execution environment uses the location list it read before reading it
    # again: a registration takes effect everywhere within this time.
    locations_cache_seconds: int = 30
    # Supply over the record's measures (template parameters SupplyFormula, StockMeasures).
    supply_formula: Formula = DEFAULT_FORMULA
    stock_measures: tuple[str, ...] = STANDARD_MEASURES  # every measure a record may have
    movement_retention_seconds: int = MOVEMENT_RETENTION_SECONDS

    @classmethod
    def from_env(cls) -> Settings:
        formula, measures = _supply_env()
        return cls(
            table_name=os.environ.get("TABLE_NAME", "reservations"),
            default_expires_in_seconds=_int_env("DEFAULT_EXPIRES_IN_SECONDS", 15 * MINUTE),
            max_expires_in_seconds=_int_env("MAX_EXPIRES_IN_SECONDS", MAX_EXPIRES_IN_SECONDS),
            hold_retention_seconds=_int_env("HOLD_RETENTION_SECONDS", 30 * DAY),
            expiry_grace_seconds=_int_env("EXPIRY_GRACE_SECONDS", 60 * MINUTE),
            sweep_batch_limit=_int_env("SWEEP_BATCH_LIMIT", 500),
            sweep_concurrency=_int_env("SWEEP_CONCURRENCY", 8),
            max_body_bytes=_int_env("MAX_BODY_BYTES", 64 * 1024),
            max_oversell_per_record=_int_env("MAX_OVERSELL_PER_RECORD", 100),
            erp_receipt_retention_seconds=_int_env(
                "ERP_RECEIPT_RETENTION_SECONDS", ERP_RECEIPT_RETENTION_SECONDS
            ),
            erp_claim_lease_seconds=_int_env("ERP_CLAIM_LEASE_SECONDS", 2 * MINUTE),
            idempotency_retention_seconds=_int_env(
                "IDEMPOTENCY_RETENTION_SECONDS", IDEMPOTENCY_RETENTION_SECONDS
            ),
            page_token_secret=os.environ.get("PAGE_TOKEN_SECRET") or LOCAL_PAGE_TOKEN_SECRET,
            service_version=os.environ.get("SERVICE_VERSION") or "unversioned",
            api_docs_enabled=os.environ.get("API_DOCS_ENABLED", "").lower() == "true",
            locations_cache_seconds=_int_env("LOCATIONS_CACHE_SECONDS", 30),
            supply_formula=formula,
            stock_measures=measures,
            movement_retention_seconds=_int_env(
                "MOVEMENT_RETENTION_SECONDS", MOVEMENT_RETENTION_SECONDS
            ),
        )
