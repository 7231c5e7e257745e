"""template.yaml's functions: least privilege holds (each function's exact grants), each logs
to a group with retention, traces, and has the Powertools settings; no SAM event attaches a
broad managed policy.

The template is read with ``local.template.template()``, which turns CloudFormation short
tags into plain values: ``!Ref X`` is ``"X"``, ``!GetAtt X.Arn`` is ``"X.Arn"``.
"""

from __future__ import annotations

import pytest

from reservations.store.keys import ALERTS_PREFIX, MOVEMENT_PREFIX
from tests.support.sam_template import (
    STREAM_ARN,
    TABLE,
    TABLE_ARN,
    as_list,
    function_env,
    function_setting,
    functions,
    log_group,
    of_type,
)

# Exactly what each function may do, and on what; TransactWriteItems is authorised per item
# action inside it. Anything more (or a function not listed) fails.
EXPECTED_GRANTS: dict[str, set[tuple[str, str]]] = {
    "ApiFunction": {
        *{
            (f"dynamodb:{a}", TABLE_ARN)
            # BatchGetItem: the stock records allocation and POST /availability read.
            for a in (
                "GetItem",
                "BatchGetItem",
                "Query",
                "PutItem",
                "UpdateItem",
                "ConditionCheckItem",
            )
        },
        ("dynamodb:Query", "${ReservationsTable.Arn}/index/SkuHoldsIndex"),
        ("dynamodb:Query", "${ReservationsTable.Arn}/index/OrderIndex"),
        ("dynamodb:Query", "${ReservationsTable.Arn}/index/ChannelIndex"),
        ("dynamodb:Query", "${ReservationsTable.Arn}/index/SkuLabelsIndex"),
        # The drift check of GET /operations/drift (admin only, capped): the one Scan.
        ("dynamodb:Scan", TABLE_ARN),
        *{
            (f"sqs:{a}", "ErpDeadLetterQueue.Arn")
            for a in (
                "ReceiveMessage",
                "ChangeMessageVisibility",
                "DeleteMessage",
                "GetQueueAttributes",
            )
        },
        ("sqs:SendMessage", "ErpQueue.Arn"),  # an operator's redrive
        (
            "ssm:GetParameter",
            "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter/"
            "${AWS::StackName}/console/client-id",
        ),
    },
    "SweeperFunction": {
        ("dynamodb:Query", TABLE_ARN),
        ("dynamodb:UpdateItem", TABLE_ARN),
        ("dynamodb:Query", "${ReservationsTable.Arn}/index/ExpiryIndex"),
    },
    "StreamFunction": {
        ("dynamodb:PutItem", TABLE_ARN),
        ("dynamodb:UpdateItem", TABLE_ARN),
        ("dynamodb:ConditionCheckItem", TABLE_ARN),
        ("dynamodb:DescribeStream", STREAM_ARN),
        ("dynamodb:GetRecords", STREAM_ARN),
        ("dynamodb:GetShardIterator", STREAM_ARN),
        ("dynamodb:ListStreams", "${ReservationsTable.Arn}/stream/*"),
        ("sqs:SendMessage", "StreamFailuresQueue.Arn"),
    },
    "EventsFunction": {
        ("dynamodb:Query", TABLE_ARN),
        ("dynamodb:BatchWriteItem", TABLE_ARN),  # the movement ledger's partitions only
        ("dynamodb:GetItem", TABLE_ARN),  # sharded stock totals: stock, buckets, alerts
        ("dynamodb:UpdateItem", TABLE_ARN),  # the alerts items of sharded stock only
        ("dynamodb:DescribeStream", STREAM_ARN),
        ("dynamodb:GetRecords", STREAM_ARN),
        ("dynamodb:GetShardIterator", STREAM_ARN),
        ("dynamodb:ListStreams", "${ReservationsTable.Arn}/stream/*"),
        ("events:PutEvents", "EventBus.Arn"),
        ("sqs:SendMessage", "EventsFailuresQueue.Arn"),
    },
    "ErpFunction": {
        *{(f"dynamodb:{a}", TABLE_ARN) for a in ("GetItem", "Query", "PutItem", "UpdateItem")},
        ("dynamodb:Query", "${ReservationsTable.Arn}/index/SkuHoldsIndex"),
        *{
            (f"sqs:{a}", "ErpQueue.Arn")
            for a in (
                "ReceiveMessage",
                "DeleteMessage",
                "GetQueueAttributes",
                "ChangeMessageVisibility",
            )
        },
        ("sqs:SendMessage", "ErpDeadLetterQueue.Arn"),
    },
}
NEVER_GRANTED = {
    "dynamodb:Scan",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
    "dynamodb:DeleteTable",
    "dynamodb:UpdateTable",
}


# --- least privilege ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(functions()))
def test_function_policies_grant_exactly_what_the_function_needs(name: str) -> None:
    properties = functions()[name]["Properties"]
    assert "Role" not in properties, f"{name}: an external Role escapes this check"
    policies = properties.get("Policies")
    assert isinstance(policies, list), f"{name}: no explicit Policies"
    assert policies, f"{name}: no explicit Policies"
    granted: set[tuple[str, str]] = set()
    for policy in policies:
        # Only inline statements: no managed policy names/ARNs, no SAM policy templates
        # (DynamoDBCrudPolicy grants Scan, DeleteItem and Batch*).
        assert isinstance(policy, dict), f"{name}: {policy!r} is not an inline statement list"
        assert set(policy) == {"Statement"}, f"{name}: {policy!r} is not inline statements"
        for statement in as_list(policy["Statement"]):
            assert statement["Effect"] == "Allow", statement
            assert "NotAction" not in statement, statement
            assert "NotResource" not in statement, statement
            targets = as_list(statement["Resource"])
            assert "*" not in targets, f"{name}: Resource '*'"
            for action in as_list(statement["Action"]):
                assert "*" not in action, f"{name}: wildcard action {action}"
                granted.update((action, str(target)) for target in targets)
    actions = {action for action, _ in granted}
    # The drift check's Scan is the API function's, listed in EXPECTED_GRANTS; no other.
    allowed = {"dynamodb:Scan"} if name == "ApiFunction" else set()
    if name == "EventsFunction":  # the ledger and sharded stock's alerts, each to its own
        allowed = {"dynamodb:BatchWriteItem"}
        for action, prefix in (("BatchWriteItem", MOVEMENT_PREFIX), ("UpdateItem", ALERTS_PREFIX)):
            [statement] = [
                statement
                for policy in policies
                for statement in as_list(policy["Statement"])
                if f"dynamodb:{action}" in as_list(statement["Action"])
            ]
            leading = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
            assert leading == [f"{prefix}*"], statement
    assert not actions & NEVER_GRANTED - allowed, f"{name} may {sorted(actions & NEVER_GRANTED)}"
    assert name in EXPECTED_GRANTS, f"{name}: add its least-privilege grants to this test"
    assert granted == EXPECTED_GRANTS[name]


@pytest.mark.parametrize("name", sorted(functions()))
def test_function_logs_to_a_group_with_retention(name: str) -> None:
    function = functions()[name]
    configured = (function_setting(function, "LoggingConfig") or {}).get("LogGroup")
    if configured is not None:
        group = log_group(configured)
    else:
        default_name = "/aws/lambda/${" + name + "}"
        groups = [
            g for g in of_type("AWS::Logs::LogGroup").values()
            if g["Properties"].get("LogGroupName") == default_name
        ]  # fmt: skip
        assert groups, f"{name} has no LoggingConfig.LogGroup and no {default_name} group"
        group = groups[0]
    assert group["Properties"].get("RetentionInDays"), f"{name}: log group without retention"


@pytest.mark.parametrize("name", sorted(functions()))
def test_function_tracing_and_powertools_settings(name: str) -> None:
    function = functions()[name]
    assert function_setting(function, "Tracing") == "Active"
    assert function_setting(function, "Runtime") == "python3.11"
    env = function_env(function)
    assert env["TABLE_NAME"] == TABLE
    assert env["POWERTOOLS_SERVICE_NAME"]
    assert env["POWERTOOLS_METRICS_NAMESPACE"]
    assert env["POWERTOOLS_LOG_LEVEL"]
    assert env["POWERTOOLS_LOGGER_LOG_EVENT"] == "false", "events carry customer data"
    assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false", "responses carry customer data"
    assert "DomainLayer" in as_list(function_setting(function, "Layers"))


# --- what SAM adds --------------------------------------------------------------------------

# SAM attaches a managed policy for these event types (AWSLambdaSQSQueueExecutionRole,
# AWSLambdaDynamoDBExecutionRole, ...) whose grants reach every queue or stream of the
# account, escaping the exact grants checked above. Queue- and stream-fed functions use
# explicit AWS::Lambda::EventSourceMapping resources instead.
BROAD_EVENT_TYPES = {"SQS", "DynamoDB", "Kinesis", "MQ", "MSK", "SelfManagedKafka", "DocumentDB"}


@pytest.mark.parametrize("name", sorted(functions()))
def test_no_sam_event_attaches_a_broad_managed_policy(name: str) -> None:
    events = functions()[name]["Properties"].get("Events") or {}
    broad = {event_id for event_id, event in events.items() if event["Type"] in BROAD_EVENT_TYPES}
    assert not broad, f"{name}: SAM events {sorted(broad)} would attach a managed policy"


def test_queue_and_stream_functions_have_their_own_event_source_mappings() -> None:
    mapped = {
        m["Properties"]["FunctionName"]: m
        for m in of_type("AWS::Lambda::EventSourceMapping").values()
    }
    assert set(mapped) == {"StreamFunction", "ErpFunction", "EventsFunction"}
    for function, mapping in mapped.items():
        # Lambda checks the role's grants when it creates the mapping.
        assert mapping["DependsOn"] == f"{function}Role"
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
