"""template.yaml's identities, scopes and usage plans: Cognito tokens and API keys on every
method, each route's scopes as in the access table, one client, key and plan per channel,
and who may oversell.

The template is read with ``local.template.template()``, which turns CloudFormation short
tags into plain values: ``!Ref X`` is ``"X"``, ``!GetAtt X.Arn`` is ``"X.Arn"``.
"""

from __future__ import annotations

from typing import Any

import pytest

from local.template import resources, template
from tests.support.sam_template import for_each, function_env, of_type

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
