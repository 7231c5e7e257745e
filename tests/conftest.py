"""Engines and clients shared by every suite.

Unit tests use moto in-process. The API suite runs on both moto server and DynamoDB
Local; concurrency tests only on DynamoDB Local (moto in-process oversells under threads).
DynamoDB Local is started by this session on a free loopback port; when it cannot start,
the tests that need it fail with what to install, they are never skipped.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.support import env, observed

env.apply()
OBSERVED_DIR = pytest.StashKey[Path]()

from botocore.config import Config  # noqa: E402

from local.engines import DynamoDBLocal, Engine, EngineUnavailable, MotoServer  # noqa: E402
from local.server import LocalApi  # noqa: E402
from local.template import ensure_table  # noqa: E402
from reservations.bootstrap import CLIENT_CONFIG  # noqa: E402
from reservations.clock import ManualClock  # noqa: E402
from reservations.config import Settings  # noqa: E402
from reservations.erp import ErpService  # noqa: E402
from reservations.service import ReservationService  # noqa: E402
from reservations.store import Store  # noqa: E402
from reservations.store.retry import RetryPolicy  # noqa: E402
from tests.support.clients import aws_client  # noqa: E402

ENGINES = ["moto", "dynamodb-local"]


# --- every status the suites observe is documented ----------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller, or a run without xdist
        config.stash[OBSERVED_DIR] = Path(tempfile.mkdtemp(prefix="observed-statuses-"))
    else:
        config.stash[OBSERVED_DIR] = Path(config.workerinput["observed_dir"])


def pytest_configure_node(node: Any) -> None:  # xdist's hook: tell each worker where to write
    node.workerinput["observed_dir"] = str(node.config.stash[OBSERVED_DIR])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fails the session when the API answered a status its OpenAPI document does not list
    for that operation (each xdist worker leaves what it saw for the controller)."""
    folder = session.config.stash[OBSERVED_DIR]
    if hasattr(session.config, "workerinput"):
        worker = session.config.workerinput["workerid"]
        (folder / f"{worker}.json").write_text(json.dumps(sorted(observed.SEEN)))
        return
    seen = observed.gather(folder)
    if not seen:
        return
    import api_function
    import lazy_routers
    from reservations.http import docs

    document = json.loads(docs.openapi_json(lazy_routers.include_all(api_function.app)))
    missing = observed.undocumented(seen, document)
    if missing:
        lines = "\n".join(f"  {m} {r} -> {s}" for m, r, s in missing)
        session.config.get_terminal_writer().line(
            f"\nStatuses the API answered that its OpenAPI document does not list:\n{lines}",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.fixture(scope="session")
def moto_server() -> Iterator[Engine]:
    server = MotoServer()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[Engine]:
    try:
        engine = DynamoDBLocal()
    except EngineUnavailable as error:
        pytest.fail(
            f"DynamoDB Local is required for this suite and could not start: {error}", pytrace=False
        )
    yield engine
    engine.stop()


def engine_of(request: pytest.FixtureRequest) -> Engine:
    """The engine a fixture parametrized over ENGINES stands for."""
    name = "moto_server" if request.param == "moto" else "dynamodb_local"
    found: Engine = request.getfixturevalue(name)
    return found


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> Engine:
    return engine_of(request)


# The service's 5 s read timeout is for AWS. DynamoDB Local on a busy two-core runner can
# stall longer under a race, which would turn into CONTENTION that AWS would not give.
TEST_CLIENT_CONFIG = CLIENT_CONFIG.merge(Config(read_timeout=30))


def client_for(endpoint: str) -> Any:
    return aws_client("dynamodb", endpoint, TEST_CLIENT_CONFIG)


def sqs_client_for(endpoint: str) -> Any:
    return aws_client("sqs", endpoint, TEST_CLIENT_CONFIG)


def fresh_table(client: Any) -> Iterator[str]:
    name = f"reservations-{uuid.uuid4().hex[:12]}"
    ensure_table(client, name)
    yield name
    client.delete_table(TableName=name)


@contextmanager
def local_api_on(engine: Engine, workers: int) -> Iterator[LocalApi]:
    """The local stack's API (HTTP adapter, the real handler in worker processes) over a
    fresh table on ``engine``."""
    client = client_for(engine.endpoint)
    for table in fresh_table(client):
        env = {"AWS_ENDPOINT_URL": engine.endpoint, "TABLE_NAME": table}
        with LocalApi(port=0, workers=workers, env=env, quiet=True) as running:
            yield running


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def fast_retries() -> RetryPolicy:
    return RetryPolicy(attempts=8, base_delay=0.001, max_delay=0.01)


def make_service(
    client: Any, table_name: str, clock: ManualClock, retry: RetryPolicy
) -> ReservationService:
    settings = Settings(table_name=table_name)
    return ReservationService(Store(client, table_name), clock, settings, retry)


def make_erp_service(
    client: Any, table_name: str, clock: ManualClock, retry: RetryPolicy
) -> ErpService:
    settings = Settings(table_name=table_name)
    return ErpService(Store(client, table_name), clock, settings, retry)


@pytest.fixture
def engine_client(engine: Engine) -> Any:
    return client_for(engine.endpoint)


@pytest.fixture
def engine_table(engine_client: Any) -> Iterator[str]:
    yield from fresh_table(engine_client)


@pytest.fixture
def local_client(dynamodb_local: Engine) -> Any:
    return client_for(dynamodb_local.endpoint)


@pytest.fixture
def local_table(local_client: Any) -> Iterator[str]:
    yield from fresh_table(local_client)
