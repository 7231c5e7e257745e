"""Calls the real Lambda handler with the proxy event API Gateway would send.

The client plays API Gateway after its authorizer accepted a token: the event carries the
claims of ``identity`` (a channel with every scope but admin, unless told otherwise).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from local.apigw import LambdaContext, proxy_event
from local.auth import api_gateway_claims, token_claims
from reservations import access
from tests.support import observed

CHANNEL = "storefront"
CHANNEL_SCOPES = (
    access.RESERVATIONS_READ,
    access.RESERVATIONS_WRITE,
    access.RESERVATIONS_OVERSELL,
    access.INVENTORY_READ,
    access.INVENTORY_WRITE,
)


@dataclass(frozen=True)
class Identity:
    channel: str
    scopes: tuple[str, ...] = CHANNEL_SCOPES

    def claims(self) -> dict[str, str]:
        return api_gateway_claims(token_claims(self.channel, self.scopes))


DEFAULT_IDENTITY = Identity(CHANNEL)
ADMIN = Identity("operator", (access.RESERVATIONS_ADMIN, access.INVENTORY_READ))


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


class HandlerClient:
    def __init__(self, handler: Any, identity: Identity | None = DEFAULT_IDENTITY) -> None:
        self._handler = handler
        self.identity = identity

    def as_(self, identity: Identity | None) -> HandlerClient:
        """The same handler called by another identity (None: no claims at all)."""
        return HandlerClient(self._handler, identity)

    def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        *,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        query: dict[str, str] | None = None,
    ) -> ApiResponse:
        if json_body is not None:
            body = json.dumps(json_body)
        if query:
            path = f"{path}?{urlencode(query)}"
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        authorizer = None if self.identity is None else {"claims": self.identity.claims()}
        event = proxy_event(method, path, all_headers, body, authorizer=authorizer)
        result = self._handler(event, LambdaContext())
        observed.record(event["httpMethod"], event["resource"], result["statusCode"])
        # As API Gateway merges them: headers and multiValueHeaders (Powertools uses both).
        merged = dict(result.get("headers") or {})
        merged.update({k: v[-1] for k, v in (result.get("multiValueHeaders") or {}).items()})
        return ApiResponse(result["statusCode"], merged, result.get("body") or "")

    def get(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> ApiResponse:
        return self.request("POST", path, json_body, **kw)

    def put(self, path: str, json_body: Any = None, **kw: Any) -> ApiResponse:
        return self.request("PUT", path, json_body, **kw)

    def delete(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("DELETE", path, **kw)
