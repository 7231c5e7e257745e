"""template.yaml as the infra tests read it: the table's names and the lookups they share.

The template is read with ``local.template.template()``, which turns CloudFormation short
tags into plain values: ``!Ref X`` is ``"X"``, ``!GetAtt X.Arn`` is ``"X.Arn"``.
"""

from __future__ import annotations

from typing import Any

from local.template import resources, template

TABLE = "ReservationsTable"
FUNCTION = "AWS::Serverless::Function"
TABLE_ARN = f"{TABLE}.Arn"
STREAM_ARN = f"{TABLE}.StreamArn"
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
