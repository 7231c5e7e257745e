"""The exact ``TransactWriteItems`` the service sends, captured and replayed as the raw path.

The service runs for real up to the moment botocore would build the request; a
``before-parameter-build`` hook takes the parameters and stops the call there, so nothing
is written. The replay sends them with boto3, with a fresh id and ``ClientRequestToken``.
"""

from __future__ import annotations

import copy
import json
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .stack import client

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

HOOK = "before-parameter-build.dynamodb.TransactWriteItems"


class _Captured(Exception):
    """Not an error: how the capturing hook stops a call before it is sent."""

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__("captured")
        self.params = params


def _capture(params: dict[str, Any], **_: Any) -> None:
    raise _Captured(copy.deepcopy(params))


def capture(endpoint: str, call: Callable[[DynamoDBClient], object]) -> dict[str, Any]:
    """The parameters of the first transaction ``call`` makes with the client it is given."""
    capturing = client(endpoint)
    capturing.meta.events.register(HOOK, _capture)
    try:
        call(capturing)
    except _Captured as captured:
        return captured.params
    raise RuntimeError("the service wrote without a TransactWriteItems call")


class Replay:
    """``transact_write_items`` with the captured items, ``placeholder`` replaced by a fresh
    id each time (so each is a new reservation or message), and a fresh token."""

    def __init__(self, dynamodb: DynamoDBClient, params: dict[str, Any], placeholder: str) -> None:
        self._dynamodb = dynamodb
        self._template = json.dumps(params)
        self._placeholder = placeholder

    def __call__(self) -> None:
        params = json.loads(self._template.replace(self._placeholder, uuid.uuid4().hex))
        params["ClientRequestToken"] = uuid.uuid4().hex
        self._dynamodb.transact_write_items(**params)

    def close(self) -> None:
        pass
