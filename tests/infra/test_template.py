"""template.yaml and samconfig.toml: SAM and cfn-lint accept them, and least privilege holds.

The template is read with ``local.template.template()``, which turns CloudFormation short
tags into plain values: ``!Ref X`` is ``"X"``, ``!GetAtt X.Arn`` is ``"X.Arn"``.
"""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest

from local.sam import CFN_LINT, REGION, ROOT, SAM, TEMPLATE
from local.template import resources, template
from reservations.store.keys import ALERTS_PREFIX, MOVEMENT_PREFIX
from tests.infra.sam import describe, run

TABLE = "ReservationsTable"
FUNCTION = "AWS::Serverless::Function"
TABLE_ARN = f"{TABLE}.Arn"
STREAM_ARN = f"{TABLE}.StreamArn"
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
TABLE_ARNS = {f"{TABLE}.Arn", "${" + TABLE + ".Arn}"}


def for_each(name: str, section: str = "Resources") -> tuple[str, Any, dict[str, Any]]:
    """An Fn::ForEach block: its identifier, its collection and its fragment."""
    identifier, collection, fragment = template()[section][f"Fn::ForEach::{name}"]
    return identifier, collection, fragment


def of_type(kind: str) -> dict[str, Any]:
    return {name: res for name, res in resources().items() if res["Type"] == kind}


def functions() -> dict[str, Any]:
    found = of_type(FUNCTION)
    assert found, "the template defines no function"
    return found


def function_setting(function: dict[str, Any], key: str) -> Any:
    globals_ = template().get("Globals", {}).get("Function", {})
    return function["Properties"].get(key, globals_.get(key))


def function_env(function: dict[str, Any]) -> dict[str, Any]:
    globals_ = template().get("Globals", {}).get("Function", {})
    env = dict(globals_.get("Environment", {}).get("Variables", {}))
    env.update(function["Properties"].get("Environment", {}).get("Variables", {}))
    return env


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def is_table_arn(resource: Any) -> bool:
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        return list(resource["Fn::GetAtt"]) == [TABLE, "Arn"]
    if isinstance(resource, dict) and "Fn::Sub" in resource:
        resource = resource["Fn::Sub"]
    if not isinstance(resource, str):
        return False
    return resource in TABLE_ARNS or any(resource.startswith(arn + "/index/") for arn in TABLE_ARNS)


def log_group(reference: Any) -> dict[str, Any]:
    """The LogGroup resource a ``!Ref``/``!GetAtt .Arn`` names."""
    name = str(reference).removesuffix(".Arn")
    assert name in resources(), f"{reference!r} is not a resource of the template"
    group: dict[str, Any] = resources()[name]
    assert group["Type"] == "AWS::Logs::LogGroup"
    return group


# --- the tools ------------------------------------------------------------------------------


def test_sam_validate_lint(sam_tools: None) -> None:
    result = run([SAM, "validate", "--lint", "--template-file", TEMPLATE, "--region", REGION])
    assert result.returncode == 0, describe(result)
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_cfn_lint_finds_no_error_or_warning(sam_tools: None) -> None:
    result = run([CFN_LINT, "--format", "parseable", "--", TEMPLATE])
    # cfn-lint's exit code is a bit mask: 2 errors, 4 warnings, 8 informational.
    assert result.returncode == 0, describe(result)
    assert result.stdout.strip() == "", describe(result)


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


# --- the table, the API, outputs ------------------------------------------------------------


def test_table_is_on_demand_with_ttl_and_pitr() -> None:
    table = resources()[TABLE]
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert table.get("DeletionPolicy") == "Retain"
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["TimeToLiveSpecification"] == {"AttributeName": "purgeAt", "Enabled": True}
    assert properties["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True


def test_layer_and_functions_are_built_by_the_makefile_for_the_runtime() -> None:
    layer = resources()["DomainLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert "python3.11" in layer["Properties"]["CompatibleRuntimes"]
    built = {
        name: resource
        for name, resource in resources().items()
        if resource["Type"] in ("AWS::Serverless::LayerVersion", "AWS::Serverless::Function")
    }
    assert len(built) == 6, sorted(built)
    makefile = (ROOT / "Makefile").read_text()
    targets = {
        target
        for line in re.findall(r"^(build-[^:\n]+):", makefile, re.MULTILINE)
        for target in line.split()
    }
    for name, resource in built.items():
        assert resource.get("Metadata") == {"BuildMethod": "makefile", "ContextPath": "."}, name
        assert f"build-{name}" in targets, f"the Makefile has no build-{name}"
    # The bytecode the recipes ship is only of use to the Python that compiled it, and the
    # wheels they install must be the functions' architecture.
    assert re.search(r"^LAMBDA_PYTHON := python3\.11$", makefile, re.MULTILINE)
    assert "--python-version 3.11" in makefile
    assert template()["Globals"]["Function"]["Architectures"] == ["x86_64"]
    assert layer["Properties"]["CompatibleArchitectures"] == ["x86_64"]
    assert "--platform manylinux2014_x86_64" in makefile


def test_api_traces_throttles_and_writes_access_logs() -> None:
    api = resources()["Api"]
    assert api["Type"] == "AWS::Serverless::Api"
    properties = api["Properties"]
    assert properties["TracingEnabled"] is True
    throttling = properties["MethodSettings"][0]
    assert throttling["ResourcePath"] == "/*"
    assert throttling["HttpMethod"] == "*"
    assert throttling["ThrottlingRateLimit"] in template()["Parameters"]
    assert throttling["ThrottlingBurstLimit"] in template()["Parameters"]
    access = properties["AccessLogSetting"]
    assert log_group(access["DestinationArn"])["Properties"].get("RetentionInDays")
    json.loads(access["Format"])  # one JSON object per request


def test_access_logs_wait_for_the_account_cloudwatch_role() -> None:
    accounts = of_type("AWS::ApiGateway::Account")
    assert len(accounts) == 1, "access logs need the account's CloudWatch Logs role"
    [(account_name, account)] = accounts.items()
    assert account["Properties"]["CloudWatchRoleArn"]
    # The stage must be created after the account has the role: the API depends on the
    # account, directly or through a resource that references it.
    depends = as_list(resources()["Api"].get("DependsOn", []))
    assert any(
        name == account_name or account_name in json.dumps(resources()[name]) for name in depends
    ), f"Api does not wait for {account_name}"


def test_every_route_of_the_function_is_an_api_event() -> None:
    import api_function
    import lazy_routers
    from reservations.http import docs as api_docs

    app = lazy_routers.include_all(api_function.app)
    schema = app.get_openapi_schema(security_schemes=api_docs.security_schemes())
    served = {
        (path, method.upper())
        for path, item in (schema.paths or {}).items()
        for method in ("get", "put", "post", "delete", "patch")
        if getattr(item, method, None) is not None
    }
    served |= {("/openapi.json", "GET"), ("/swagger", "GET")}
    events = {
        (event["Properties"]["Path"], event["Properties"]["Method"].upper())
        for event in resources()["ApiFunction"]["Properties"]["Events"].values()
        if event["Type"] == "Api" and event["Properties"]["Method"] != "any"
    }
    assert events == served


def test_outputs_name_the_api_url_and_the_table() -> None:
    outputs = template()["Outputs"]
    url = outputs["ApiUrl"]["Value"]
    assert url.startswith("https://${Api}.execute-api.${AWS::Region}.")
    assert url.endswith("/${StageName}/")
    assert outputs["TableName"]["Value"] == TABLE


def test_parameters_are_described_and_bounded() -> None:
    for name, parameter in template()["Parameters"].items():
        assert parameter.get("Description"), f"parameter {name} has no Description"
        if parameter["Type"] == "Number":
            assert "MinValue" in parameter or "AllowedValues" in parameter, name


# --- samconfig.toml -------------------------------------------------------------------------


def test_samconfig_deploys_with_iam_capability_and_confirmation() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert config["version"] == 0.1
    default = config["default"]
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", default["global"]["parameters"]["stack_name"])
    assert default["global"]["parameters"]["region"]
    assert default["build"]["parameters"]["cached"] is True
    deploy = default["deploy"]["parameters"]
    assert "CAPABILITY_IAM" in as_list(deploy["capabilities"])
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is True
    parameters = template()["Parameters"]
    for override in as_list(deploy["parameter_overrides"]):
        key, _, value = override.partition("=")
        assert key in parameters, f"samconfig overrides unknown parameter {key}"
        allowed = parameters[key].get("AllowedValues")
        if allowed is not None:
            assert value in [str(v) for v in allowed], f"{key}={value} not in {allowed}"


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


# --- identities, scopes, usage plans ----------------------------------------------------------

SALES_SCOPES = {"reservations/read", "reservations/write", "inventory/read"}


def test_language_extensions_run_before_sam() -> None:
    # Fn::ForEach (one client, key and plan per channel) is expanded before SAM's transform.
    assert template()["Transform"] == ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]


def test_every_method_wants_a_cognito_token_and_an_api_key() -> None:
    auth = resources()["Api"]["Properties"]["Auth"]
    assert auth["DefaultAuthorizer"] == "CognitoAuthorizer"
    assert auth["ApiKeyRequired"] is True
    authorizer = auth["Authorizers"]["CognitoAuthorizer"]
    assert authorizer["UserPoolArn"] == "UserPool.Arn"
    assert authorizer["Identity"]["Header"] == "Authorization"


def test_each_route_has_exactly_the_scopes_of_the_access_table() -> None:
    from reservations import access

    events = resources()["ApiFunction"]["Properties"]["Events"].values()
    seen: dict[tuple[str, str], Any] = {}
    for event in events:
        properties = event["Properties"]
        seen[(properties["Method"].upper(), properties["Path"])] = properties.get("Auth")
    for route, scopes in access.ROUTE_SCOPES.items():
        assert seen[route] == {"AuthorizationScopes": list(scopes)}, route
    for route in access.PUBLIC_ROUTES:
        assert seen[route] == {"Authorizer": "NONE", "ApiKeyRequired": False}, route
    anything = {(access.ANY_METHOD, path) for path in access.paths()}
    for route in anything:
        assert seen[route] == {"Authorizer": "NONE", "ApiKeyRequired": False}, route
    assert set(seen) == set(access.ROUTE_SCOPES) | access.PUBLIC_ROUTES | anything


def test_resource_servers_define_the_scopes_of_the_access_table() -> None:
    from reservations import access

    servers = {
        r["Properties"]["Identifier"]: tuple(s["ScopeName"] for s in r["Properties"]["Scopes"])
        for r in of_type("AWS::Cognito::UserPoolResourceServer").values()
    }
    assert servers == access.RESOURCE_SERVERS
    for server in of_type("AWS::Cognito::UserPoolResourceServer").values():
        assert server["Properties"]["UserPoolId"] == "UserPool"
    assert len(of_type("AWS::Cognito::UserPoolDomain")) == 1


def test_the_user_pool_has_no_self_sign_up() -> None:
    [pool] = of_type("AWS::Cognito::UserPool").values()
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True


@pytest.mark.parametrize(
    ("block", "parameter", "prefix", "scopes"),
    [
        ("SalesChannelResources", "Channels", "Channel", SALES_SCOPES),
        (
            "OversellChannelResources",
            "OversellChannels",
            "Oversell",
            SALES_SCOPES | {"reservations/oversell"},
        ),
        (
            "OperatorChannelResources",
            "OperatorChannels",
            "Operator",
            SALES_SCOPES | {"reservations/admin", "inventory/write", "reservations/oversell"},
        ),
    ],
)
def test_each_channel_gets_a_client_credentials_client_a_usage_plan_and_a_key(
    block: str, parameter: str, prefix: str, scopes: set[str]
) -> None:
    identifier, collection, fragment = for_each(block)
    assert identifier == "Channel"
    assert collection == parameter
    assert template()["Parameters"][parameter]["Type"] == "CommaDelimitedList"
    client = fragment[f"{prefix}Client&{{Channel}}"]
    assert client["Type"] == "AWS::Cognito::UserPoolClient"
    properties = client["Properties"]
    assert properties["AllowedOAuthFlows"] == ["client_credentials"]
    assert properties["GenerateSecret"] is True
    assert set(properties["AllowedOAuthScopes"]) == scopes
    assert properties["UserPoolId"] == "UserPool"
    # Scopes exist only once their resource servers do.
    assert set(client["DependsOn"]) == {"ReservationsResourceServer", "InventoryResourceServer"}

    plan = fragment[f"{prefix}UsagePlan&{{Channel}}"]["Properties"]
    assert plan["ApiStages"] == [{"ApiId": "Api", "Stage": "Api.Stage"}]
    assert plan["Throttle"] == {"RateLimit": "ChannelRateLimit", "BurstLimit": "ChannelBurstLimit"}
    assert plan["Quota"] == {"Limit": "ChannelDailyQuota", "Period": "DAY"}
    for limit in ("ChannelRateLimit", "ChannelBurstLimit", "ChannelDailyQuota"):
        assert template()["Parameters"][limit]["Type"] == "Number"
    key = fragment[f"{prefix}ApiKey&{{Channel}}"]
    assert key["Type"] == "AWS::ApiGateway::ApiKey"
    assert key["Properties"]["Enabled"] is True
    binding = fragment[f"{prefix}UsagePlanKey&{{Channel}}"]["Properties"]
    assert binding == {
        "KeyId": {"Ref": f"{prefix}ApiKey${{Channel}}"},
        "KeyType": "API_KEY",
        "UsagePlanId": {"Ref": f"{prefix}UsagePlan${{Channel}}"},
    }


def test_sales_channels_may_not_act_as_admins_or_write_stock() -> None:
    _, _, fragment = for_each("SalesChannelResources")
    scopes = set(fragment["ChannelClient&{Channel}"]["Properties"]["AllowedOAuthScopes"])
    assert not scopes & {"reservations/admin", "inventory/write", "reservations/oversell"}


def test_only_the_call_centre_may_oversell_by_default() -> None:
    """Oversell is its own scope, outside the storefront's set (issue 11, item 3)."""
    defaults = {
        name: template()["Parameters"][name]["Default"].split(",")
        for name in ("Channels", "OversellChannels", "OperatorChannels")
    }
    assert "storefront" in defaults["Channels"]
    assert defaults["OversellChannels"] == ["callcentre"]
    names = [name for listed in defaults.values() for name in listed]
    assert len(names) == len(set(names)), "a channel in two lists would get two clients"


def test_the_oversell_limit_is_a_bounded_parameter_of_the_api_function() -> None:
    parameter = template()["Parameters"]["MaxOversellPerRecord"]
    assert (parameter["Type"], parameter["MinValue"]) == ("Number", 0)
    assert parameter["MaxValue"] == 1_000_000_000  # the largest quantity of one line
    env = function_env(resources()["ApiFunction"])
    assert env["MAX_OVERSELL_PER_RECORD"] == "MaxOversellPerRecord"


def test_api_docs_are_off_unless_the_parameter_turns_them_on() -> None:
    parameter = template()["Parameters"]["EnableApiDocs"]
    assert parameter["Default"] == "false"
    env = function_env(resources()["ApiFunction"])
    assert env["API_DOCS_ENABLED"] == "EnableApiDocs"
