"""template.yaml's lifecycle events (the stream to the events function, the schemas, the ERP's
subscription on the bus) and the ERP queue (FIFO, its dead letters, who may send, the alarm).

The template is read with ``local.template.template()``, which turns CloudFormation short
tags into plain values: ``!Ref X`` is ``"X"``, ``!GetAtt X.Arn`` is ``"X.Arn"``.
"""

from __future__ import annotations

import json

from local.sam import ROOT
from local.template import resources, template
from tests.support.sam_template import (
    STREAM_ARN,
    TABLE,
    as_list,
    function_env,
    function_setting,
    functions,
    of_type,
)

# --- lifecycle events -----------------------------------------------------------------------


def test_the_stream_carries_both_images_to_the_events_function_with_a_failure_queue() -> None:
    table = resources()[TABLE]["Properties"]
    assert table["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    [mapping] = [
        m["Properties"]
        for m in of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == "EventsFunction"
    ]
    assert mapping["EventSourceArn"] == STREAM_ARN
    assert mapping["StartingPosition"] == "TRIM_HORIZON"
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["DestinationConfig"]["OnFailure"]["Destination"] == "EventsFailuresQueue.Arn"
    env = function_env(functions()["EventsFunction"])
    assert env["EVENT_BUS_NAME"] == "EventBus"


def test_every_detail_type_has_its_schema_registered_as_in_events_schemas() -> None:
    from reservations.events.derive import DETAIL_TYPES

    registered = {
        r["Properties"]["Description"]: json.loads(r["Properties"]["Content"])
        for r in of_type("AWS::EventSchemas::Schema").values()
    }
    files = {f"events/schemas/{kind}.json": kind for kind in DETAIL_TYPES}
    assert set(registered) == set(files)
    for path, kind in files.items():
        assert registered[path] == json.loads((ROOT / path).read_text()), path
        assert registered[path]["properties"]["detail-type"] == {"enum": [kind]}
    for schema in of_type("AWS::EventSchemas::Schema").values():
        assert schema["Properties"]["Type"] == "JSONSchemaDraft4"
        assert schema["Properties"]["RegistryName"] == "EventSchemaRegistry.RegistryName"


def test_the_erp_subscribes_a_queue_to_the_ends_and_confirmations_of_holds() -> None:
    rule = resources()["ErpEventsRule"]["Properties"]
    assert rule["EventBusName"] == "EventBus"
    assert rule["EventPattern"] == {
        "source": ["reservations"],
        "detail-type": [
            "reservation.confirmed",
            "reservation.fulfilled",
            "reservation.cancelled",
            "reservation.expired",
        ],
    }
    [target] = rule["Targets"]
    assert target["Arn"] == "ErpEventsQueue.Arn"
    assert target["DeadLetterConfig"]["Arn"] == "ErpEventsDeadLetterQueue.Arn"


# --- the ERP queue --------------------------------------------------------------------------


def test_erp_queue_is_fifo_with_a_redrive_to_a_fifo_dead_letter_queue() -> None:
    queue = resources()["ErpQueue"]["Properties"]
    dead_letters = resources()["ErpDeadLetterQueue"]["Properties"]
    assert queue["FifoQueue"] is True
    assert dead_letters["FifoQueue"] is True, "a FIFO queue's DLQ must be FIFO"
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == "ErpDeadLetterQueue.Arn"
    assert queue["RedrivePolicy"]["maxReceiveCount"] in template()["Parameters"]
    function_timeout = function_setting(functions()["ErpFunction"], "Timeout")
    assert queue["VisibilityTimeout"] >= 6 * function_timeout, "Lambda advises six times"
    assert dead_letters["MessageRetentionPeriod"] >= queue["MessageRetentionPeriod"]


def test_erp_function_reports_partial_batch_failures() -> None:
    mappings = [
        m["Properties"]
        for m in of_type("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["EventSourceArn"] == "ErpQueue.Arn"
    ]
    assert len(mappings) == 1
    [mapping] = mappings
    assert mapping["FunctionName"] == "ErpFunction"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert 1 <= mapping["BatchSize"] <= 10, "FIFO sources take at most 10"
    env = function_env(functions()["ErpFunction"])
    assert env["ERP_DEAD_LETTER_QUEUE_URL"] == "ErpDeadLetterQueue"


def test_only_the_erp_principal_may_send_to_the_erp_queue() -> None:
    policies = [
        p["Properties"]
        for p in of_type("AWS::SQS::QueuePolicy").values()
        if "ErpQueue" in p["Properties"]["Queues"]
    ]
    assert len(policies) == 1
    statements = policies[0]["PolicyDocument"]["Statement"]
    allows = [s for s in statements if s["Effect"] == "Allow"]
    assert all(s["Principal"] == {"AWS": "ErpPrincipalArn"} for s in allows)
    denies = [
        s for s in statements if s["Effect"] == "Deny" and "sqs:SendMessage" in as_list(s["Action"])
    ]
    # Besides the ERP, only the API function's role (an operator's redrive of a dead letter).
    assert any(
        s["Condition"].get("ArnNotEquals")
        == {"aws:PrincipalArn": ["ErpPrincipalArn", "ApiFunctionRole.Arn"]}
        for s in denies
    ), "messages from anyone but the ERP (and a redrive) must be refused"


def test_an_alarm_watches_the_erp_dead_letter_queue() -> None:
    alarms = [
        a["Properties"]
        for a in of_type("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == "AWS/SQS"
    ]
    watched = {d["Value"] for a in alarms for d in a["Dimensions"] if d["Name"] == "QueueName"}
    assert "ErpDeadLetterQueue.QueueName" in watched
    [alarm] = [a for a in alarms if a["MetricName"] == "ApproximateNumberOfMessagesVisible"]
    assert alarm["Threshold"] == 0 and alarm["ComparisonOperator"] == "GreaterThanThreshold"
