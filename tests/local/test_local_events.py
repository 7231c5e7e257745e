"""The sample events and ``python -m local.invoke``, the Docker-free ``sam local invoke``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from local.apigw import routes
from local.catalogue import seed
from local.engines import Engine
from local.invoke import find_function, functions
from local.make_events import EVENTS_DIR, SAMPLES, generated
from local.queues import ensure_queues
from local.run import erp_example
from local.template import ROOT, ensure_table
from reservations.clock import ManualClock
from reservations.commands import ReserveLine, ReserveRequest
from reservations.store import Store
from reservations.store.keys import line_key
from reservations.store.retry import RetryPolicy
from tests.conftest import client_for, make_service, sqs_client_for
from tests.support.local_stack import PYTHONPATH

# Differ on every generation by nature; the generator pins them, but a hand edit may not.
VOLATILE_CONTEXT = ("requestId", "extendedRequestId", "requestTime", "requestTimeEpoch")


def stable(event: dict[str, Any]) -> dict[str, Any]:
    if "requestContext" not in event:
        return event  # scheduled and stream samples are fully pinned by the generator
    context = {k: v for k, v in event["requestContext"].items() if k not in VOLATILE_CONTEXT}
    return {**event, "requestContext": context}


def committed(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS_DIR / f"{name}.json").read_text())
    return loaded


@pytest.mark.parametrize("name", sorted(generated()))
def test_committed_event_is_what_make_events_generates(name: str) -> None:
    path = EVENTS_DIR / name
    assert path.exists(), f"{path} is missing: run python -m local.make_events"
    fresh = json.loads(generated()[name])
    assert stable(json.loads(path.read_text())) == stable(fresh), (
        f"{path} drifted from local/make_events.py: run python -m local.make_events"
    )


def test_samples_and_routes_match_one_to_one() -> None:
    sampled = {
        (event["httpMethod"], event["resource"])
        for event in (committed(sample.name) for sample in SAMPLES)
    }
    # The paths' ANY routes only ever answer 405: one sample shows that.
    template = {(r.method, r.resource) for r in routes() if r.method != "ANY"}
    assert template - sampled == set(), "routes without a sample in local/make_events.py"
    assert {"scheduled_sweep.json", "stream_ttl_remove.json"} <= set(generated())
    assert sampled - template == set(), "samples of routes the template does not have"


def test_the_printed_erp_send_and_the_erp_samples_set_different_records() -> None:
    # Were they the same, whichever went second would be a stale sequence and change nothing.
    printed = erp_example("http://queue", "http://sqs")
    body = json.loads(printed.split("BODY='", 1)[1].rstrip("'"))
    sampled = {
        (message["sku"], message["location"])
        for path in EVENTS_DIR.glob("erp_*.json")
        for record in json.loads(path.read_text())["Records"]
        if (message := json.loads(record["body"]))["type"] == "stock.set"
    }
    assert ("MUG-BLUE", "WH-LONDON") in sampled
    assert (body["sku"], body["location"]) not in sampled


def test_functions_come_from_the_template() -> None:
    api = find_function("api")
    assert find_function("ApiFunction") == api
    assert functions()["ApiFunction"] == api
    assert api.code_uri == ROOT / "functions/api"
    assert api.handler == "api_function.lambda_handler"
    assert ROOT / "layers/domain" in api.layer_paths
    assert api.timeout_seconds == 10
    # Parameters resolve to their defaults; resources (the table) are left to the runner.
    assert api.environment["DEFAULT_EXPIRES_IN_SECONDS"] == "900"
    assert api.environment["POWERTOOLS_SERVICE_NAME"] == "reservations"
    assert "TABLE_NAME" not in api.environment


# --- invoking the samples -----------------------------------------------------------------


def invoke(function: str, event: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    full_env |= {"PYTHONPATH": PYTHONPATH, **env}
    return subprocess.run(
        [sys.executable, "-m", "local.invoke", function, event],
        cwd=ROOT,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def seeded_table(moto_server: Engine) -> Iterator[str]:
    """A table on the moto server engine holding the demo catalogue, as ``make run`` makes it."""
    client = client_for(moto_server.endpoint)
    name = f"reservations-{uuid.uuid4().hex[:8]}"
    ensure_table(client, name)
    seed(Store(client, name))
    yield name
    client.delete_table(TableName=name)


def test_every_sample_runs_through_the_handler(moto_server: Engine, seeded_table: str) -> None:
    env = {"AWS_ENDPOINT_URL": moto_server.endpoint, "TABLE_NAME": seeded_table}
    # The order of SAMPLES: each sample meets the state it is meant for.
    expected = {
        "get_inventory": 200,
        "get_stock_level": 200,
        "list_stock_movements": 200,
        "set_on_hand": 200,
        "create_reservation": 201,
        "create_reservation_oversell": 201,
        "list_locations": 200,
        "get_location": 200,
        "register_location": 200,
        "get_availability": 200,
        "create_reservation_allocated": 201,
        "get_reservation": 200,
        "list_reservations": 200,
        "list_holds": 200,
        "find_reservations": 200,
        "extend_reservation": 200,
        "change_reservation_items": 200,
        "change_reservation_items_allocated": 200,
        "release_reservation": 200,
        "confirm_reservation": 200,
        "fulfill_reservation": 200,
        "cancel_reservation": 200,
        "put_label": 201,
        "list_sku_labels": 200,
        "get_label": 200,
        "create_reservation_labelled": 201,
        "release_reservation_label": 200,
        "run_drift_check": 200,
        # This environment names no ERP queues (make run's export line does): none to read.
        "list_dead_letters": 404,
        "redrive_dead_letter": 404,
        "health": 200,
        "openapi": 200,
        "swagger": 200,
        "console": 200,
        "console_asset": 200,
    }
    assert list(expected) == [sample.name for sample in SAMPLES]
    bodies: dict[str, Any] = {}
    for name, status in [*expected.items(), ("create_reservation", 200)]:  # then a replay
        done = invoke("api", f"events/{name}.json", env)
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)  # stdout is the result alone; logs go to stderr
        assert result["statusCode"] == status, (name, result)
        if name not in ("swagger", "console", "console_asset"):
            bodies.setdefault(name, json.loads(result["body"]))
    assert bodies["get_inventory"]["sku"] == "MUG-BLUE"
    assert bodies["set_on_hand"]["onHand"] == 30
    assert bodies["get_reservation"]["status"] == "ACTIVE"
    assert [x["location"] for x in bodies["list_locations"]["locations"]] == [
        "STORE-PARIS",
        "WH-LONDON",
    ]
    assert bodies["register_location"]["shipsTo"] == ["FR", "BE"]
    mugs = bodies["get_availability"]["items"][0]
    assert (mugs["sku"], mugs["available"]) == ("MUG-BLUE", 8 + 30 - 2)
    # One shipment: the warehouse has both skus and the lower priority.
    allocated = bodies["create_reservation_allocated"]
    assert {(x["sku"], x["location"]) for x in allocated["items"]} == {
        ("MUG-BLUE", "WH-LONDON"),
        ("TSHIRT-M-RED", "WH-LONDON"),
    }
    assert allocated["shipTo"] == {"country": "FR", "postalCode": "75001"}
    grown = bodies["change_reservation_items_allocated"]["items"]
    assert [(x["sku"], x["location"], x["quantity"]) for x in grown] == [
        ("MUG-BLUE", "WH-LONDON", 3),
        ("TSHIRT-M-RED", "WH-LONDON", 1),
    ]
    assert [r["id"] for r in bodies["list_reservations"]["reservations"]] == ["checkout-1001"]
    assert [hold["id"] for hold in bodies["list_holds"]["holds"]] == [
        "checkout-1001",
        "checkout-1003",
    ]
    found = bodies["find_reservations"]["reservations"]
    assert [summary["id"] for summary in found] == ["checkout-1001"]
    assert bodies["confirm_reservation"]["status"] == "CONFIRMED"
    assert bodies["fulfill_reservation"]["status"] == "FULFILLED"
    assert bodies["cancel_reservation"]["status"] == "CANCELLED"
    table = Store(client_for(moto_server.endpoint), seeded_table)
    mugs = {level.location: level for level in table.stock.get_inventory("MUG-BLUE").locations}
    # checkout-1001: 3 held after the cart update, 1 released, 2 shipped: the warehouse's 30
    # are 28; the 3 mugs allocated to checkout-1003 (2, then its cart grew) are held there.
    assert (mugs["WH-LONDON"].on_hand, mugs["WH-LONDON"].reserved) == (28, 3)
    posters = table.stock.get_inventory("POSTER-A2")  # oversold by 5, then given back
    assert (posters.on_hand, posters.reserved, posters.available) == (3, 0, 3)
    assert "/reservations" in bodies["openapi"]["paths"]


def test_the_scheduled_and_stream_samples_run_through_their_handlers(
    moto_server: Engine, seeded_table: str
) -> None:
    env = {"AWS_ENDPOINT_URL": moto_server.endpoint, "TABLE_NAME": seeded_table}
    swept = invoke("sweeper", "events/scheduled_sweep.json", env)
    assert swept.returncode == 0, swept.stderr
    assert json.loads(swept.stdout) == {"due": 0, "expired": 0, "skipped": 0}
    client = client_for(moto_server.endpoint)
    table = Store(client, seeded_table)

    def mugs() -> tuple[int, int]:
        level = table.stock.get_level("MUG-BLUE", "WH-LONDON")
        assert level is not None
        return level.reserved, level.available

    # On the demo table alone the sample claims a hold that was never placed: the stream
    # function refuses it (reserved would drop below zero) and nothing changes.
    before = mugs()
    refused = invoke("stream", "events/stream_ttl_remove.json", env)
    assert refused.returncode == 0, refused.stderr
    assert json.loads(refused.stdout) == {"batchItemFailures": []}
    assert "refused a settlement" in refused.stderr
    assert mugs() == before
    # Once the hold it describes exists and TTL deleted its line, it gives the 2 mugs back,
    # once however often it is delivered.
    reserved = ReserveRequest((ReserveLine("MUG-BLUE", "WH-LONDON", 2),), id="checkout-abandoned")
    make_service(client, seeded_table, ManualClock(), RetryPolicy()).reserve(reserved, "default")
    client.delete_item(
        TableName=seeded_table, Key=line_key("checkout-abandoned", "MUG-BLUE", "WH-LONDON")
    )
    held = mugs()
    for _ in range(2):
        settled = invoke("stream", "events/stream_ttl_remove.json", env)
        assert settled.returncode == 0, settled.stderr
        assert json.loads(settled.stdout) == {"batchItemFailures": []}
    assert mugs() == (held[0] - 2, held[1] + 2) == before


def test_without_an_endpoint_it_says_to_start_make_run() -> None:
    done = invoke("api", "events/get_inventory.json", {})
    assert done.returncode == 2
    assert done.stdout == ""
    assert "make run" in done.stderr
    assert "export AWS_ENDPOINT_URL=" in done.stderr


def test_an_unknown_function_names_the_known_ones() -> None:
    done = invoke("nope", "events/get_inventory.json", {"AWS_ENDPOINT_URL": "http://127.0.0.1:9"})
    assert done.returncode == 2
    assert "api (ApiFunction)" in done.stderr


def test_a_handler_error_is_reported_as_lambda_reports_it(moto_server: Engine) -> None:
    # No table of that name: the handler's DynamoDB call fails and nothing catches it.
    env = {"AWS_ENDPOINT_URL": moto_server.endpoint, "TABLE_NAME": "no-such-table"}
    done = invoke("api", "events/get_inventory.json", env)
    assert done.returncode == 1
    assert json.loads(done.stdout)["errorType"] == "ResourceNotFoundException"
    assert "Traceback" in done.stderr


def test_the_erp_samples_run_through_the_erp_function(
    moto_server: Engine, seeded_table: str
) -> None:
    sqs = sqs_client_for(moto_server.endpoint)
    queues = ensure_queues(sqs, prefix=seeded_table)
    env = {
        "AWS_ENDPOINT_URL": moto_server.endpoint,
        "TABLE_NAME": seeded_table,
        "ERP_DEAD_LETTER_QUEUE_URL": queues.dead_letter_url,
    }
    created = invoke("api", "events/create_reservation.json", env)  # checkout-1001: 2 mugs
    assert json.loads(created.stdout)["statusCode"] == 201
    table = Store(client_for(moto_server.endpoint), seeded_table)

    def mugs() -> tuple[int, int, int]:
        level = table.stock.get_level("MUG-BLUE", "WH-LONDON")
        assert level is not None
        return level.on_hand, level.reserved, level.available

    # Each sample twice: SQS delivers at least once, and the second delivery changes nothing.
    expected = {
        "erp_stock_set": (30, 2, 28),
        "erp_stock_adjust": (42, 2, 40),
        "erp_offset": (41, 1, 40),
        "erp_auto_offset": (40, 0, 40),
    }
    for name, after in expected.items():
        for _ in range(2):
            done = invoke("erp", f"events/{name}.json", env)
            assert done.returncode == 0, done.stderr
            assert json.loads(done.stdout) == {"batchItemFailures": []}
            assert mugs() == after, name
    reservation = table.reservations.get("checkout-1001")
    assert reservation is not None
    mug_line = reservation.line("MUG-BLUE", "WH-LONDON")
    assert mug_line is not None
    assert (mug_line.held, mug_line.consumed, mug_line.offset) == (0, 2, 2)

    done = invoke("erp", "events/erp_batch_with_poison.json", env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"batchItemFailures": []}  # the poison is dead-lettered
    poster = table.stock.get_level("POSTER-A2", "WH-LONDON")
    shirt = table.stock.get_level("TSHIRT-M-RED", "STORE-PARIS")
    assert poster is not None and poster.on_hand == 7
    assert shirt is not None and shirt.on_hand == 10  # the same group went on after the poison
    [dead] = sqs.receive_message(QueueUrl=queues.dead_letter_url, MessageAttributeNames=["All"])[
        "Messages"
    ]
    assert "stock.delete" in dead["Body"]
    reason = dead["MessageAttributes"]["failureReason"]["StringValue"]
    assert reason.startswith("type: unknown message type 'stock.delete'")
