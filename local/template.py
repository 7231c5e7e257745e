"""The template as the one definition: its resources, and the table created from its own
`ReservationsTable` properties on any endpoint."""

from __future__ import annotations

import time
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import ClientError

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
TABLE_RESOURCE = "ReservationsTable"


class _CloudFormationLoader(yaml.SafeLoader):
    """Reads CloudFormation short-form tags (!Ref, !Sub, ...) as plain values."""


def _tag(loader: yaml.SafeLoader, _suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_mapping(node)  # type: ignore[arg-type]


_CloudFormationLoader.add_multi_constructor("!", _tag)


@cache
def template() -> dict[str, Any]:
    with TEMPLATE.open() as handle:
        loaded: dict[str, Any] = yaml.load(handle, Loader=_CloudFormationLoader)  # noqa: S506
    return loaded


def resources() -> dict[str, Any]:
    """The template's resources by logical id, without its Fn::ForEach blocks (the
    per-channel Cognito clients, API keys and usage plans, expanded only by the language
    extension at deploy time)."""
    return {
        name: resource
        for name, resource in template()["Resources"].items()
        if not name.startswith("Fn::ForEach::")
    }


def table_properties() -> dict[str, Any]:
    properties: dict[str, Any] = template()["Resources"][TABLE_RESOURCE]["Properties"]
    return properties


def create_table_request(table_name: str) -> dict[str, Any]:
    """The CreateTable call equivalent to the template's resource."""
    props = table_properties()
    request: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if "GlobalSecondaryIndexes" in props:
        request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if "StreamSpecification" in props:
        request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    return request


def ensure_table(client: Any, table_name: str) -> bool:
    """Create the table if it is missing; True when it was created."""
    try:
        client.describe_table(TableName=table_name)
        return False
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceNotFoundException":
            raise
    try:
        client.create_table(**create_table_request(table_name))
    except ClientError as error:
        # A create whose answer was lost and that botocore sent again finds its own table.
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
    for _ in range(100):
        if client.describe_table(TableName=table_name)["Table"]["TableStatus"] == "ACTIVE":
            break
        time.sleep(0.1)
    ttl = table_properties().get("TimeToLiveSpecification")
    if ttl:
        client.update_time_to_live(TableName=table_name, TimeToLiveSpecification=ttl)
    return True
