"""template.yaml and samconfig.toml: SAM and cfn-lint accept them; the table, the layer and
the functions' build, the API, outputs, parameters and samconfig.toml's deploy settings.

The template is read with ``local.template.template()``, which turns CloudFormation short
tags into plain values: ``!Ref X`` is ``"X"``, ``!GetAtt X.Arn`` is ``"X.Arn"``.
"""

from __future__ import annotations

import json
import re
import tomllib

from local.sam import CFN_LINT, REGION, ROOT, SAM, TEMPLATE
from local.template import resources, template
from tests.infra.sam import describe, run
from tests.support.sam_template import TABLE, as_list, log_group, of_type

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
