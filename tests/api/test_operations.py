"""The operator routes (reservations/admin): the drift check and the ERP dead-letter queue,
on both engines, with the ERP queues on moto server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

import api_function
import route_dependencies
from local.engines import Engine
from reservations.operations import Operations
from reservations.store import Store
from reservations.store.keys import stock_key
from tests.conftest import sqs_client_for
from tests.support.api_client import ADMIN, HandlerClient
from tests.support.operations import WiredOperations, wire_operations


@pytest.fixture
def wired(engine_client: Any, engine_table: str, moto_server: Engine) -> Iterator[WiredOperations]:
    yield from wire_operations(engine_client, engine_table, sqs_client_for(moto_server.endpoint))


@pytest.fixture
def admin(api: HandlerClient) -> HandlerClient:
    return api.as_(ADMIN)


def hold(api: HandlerClient) -> None:
    assert api.put("/inventory/A/locations/WH1", {"onHand": 5}).status == 200
    body = {"id": "r1", "items": [{"sku": "A", "location": "WH1", "quantity": 2}]}
    assert api.post("/reservations", body).status == 201


def test_the_drift_check_finds_nothing_then_a_counter_moved_behind_its_back(
    api: HandlerClient,
    admin: HandlerClient,
    wired: WiredOperations,
    engine_client: Any,
    engine_table: str,
) -> None:
    hold(api)
    clean = admin.get("/operations/drift")
    assert clean.status == 200
    assert (clean.json["ok"], clean.json["stockRecords"], clean.json["heldUnits"]) == (True, 1, 2)
    engine_client.update_item(
        TableName=engine_table,
        Key=stock_key("A", "WH1"),
        UpdateExpression="SET reserved = :r",
        ExpressionAttributeValues={":r": {"N": "7"}},
    )
    drifted = admin.get("/operations/drift").json
    assert drifted["ok"] is False
    assert any("reserved 7 but live lines hold 2" in p for p in drifted["problems"])


def test_a_table_too_large_for_one_call_is_refused_with_the_offline_way(
    api: HandlerClient, admin: HandlerClient, engine_client: Any, engine_table: str
) -> None:
    hold(api)  # a stock record, a header, a line: three items
    small = Operations(Store(engine_client, engine_table), None, "", "", drift_max_items=2)
    overrides = api_function.app.dependency_overrides
    overrides[route_dependencies.get_operations] = lambda: small
    try:
        refused = admin.get("/operations/drift")
    finally:
        overrides.pop(route_dependencies.get_operations, None)
    assert refused.status == 503
    assert refused.json["error"] == "DRIFT_CHECK_TOO_LARGE"
    assert "python -m local.drift" in refused.json["message"]


def test_dead_letters_are_listed_with_their_reason_and_left_in_the_queue(
    admin: HandlerClient, wired: WiredOperations
) -> None:
    body = {"type": "stock.set", "schemaVersion": 1, "sku": "A"}
    message_id = wired.dead_letter(body, "schema error at location: required", group="A")
    for _ in range(2):  # a look changes nothing: the second sees the same
        listed = admin.get("/operations/dead-letters")
        assert listed.status == 200
        [message] = listed.json["messages"]
        assert message["messageId"] == message_id
        assert message["reason"] == "schema error at location: required"
        assert (message["messageGroupId"], json.loads(message["body"])) == ("A", body)


def test_a_redrive_sends_the_message_back_to_the_erp_queue_once(
    admin: HandlerClient, wired: WiredOperations
) -> None:
    message_id = wired.dead_letter('{"type": "stock.adjust"}', "schema error", group="B")
    key = {"Idempotency-Key": "redrive-1"}
    done = admin.post(f"/operations/dead-letters/{message_id}/redrive", headers=key)
    assert done.status == 200
    assert done.json["messageId"] == message_id
    again = admin.post(f"/operations/dead-letters/{message_id}/redrive", headers=key)
    assert (again.status, again.json) == (200, done.json)
    assert again.headers.get("Idempotent-Replayed") == "true"
    # Without the key, the message is simply no longer there.
    assert admin.post(f"/operations/dead-letters/{message_id}/redrive").status == 404
    assert admin.get("/operations/dead-letters").json["messages"] == []
    received = wired.sqs.receive_message(
        QueueUrl=wired.queues.url, MaxNumberOfMessages=10, AttributeNames=["All"],
        MessageAttributeNames=["All"],
    )["Messages"]  # fmt: skip
    [sent] = received
    assert sent["Body"] == '{"type": "stock.adjust"}'
    assert sent["Attributes"]["MessageGroupId"] == "B"
    assert "failureReason" not in (sent.get("MessageAttributes") or {})


def test_an_unknown_or_malformed_message_id_is_a_clear_4xx(
    admin: HandlerClient, wired: WiredOperations
) -> None:
    assert admin.post("/operations/dead-letters/no-such-message/redrive").status == 404
    bad = admin.post("/operations/dead-letters/not%20an%20id/redrive")
    assert bad.status == 400
