"""Calls the real Lambda handler with the proxy event API Gateway would send."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from local.apigw import LambdaContext, proxy_event


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def json(self) -> Any:
        return json.loads(self.text)


class HandlerClient:
    def __init__(self, handler: Any) -> None:
        self._handler = handler

    def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        *,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        if json_body is not None:
            body = json.dumps(json_body)
        all_headers = {"Content-Type": "application/json", **(headers or {})}
        event = proxy_event(method, path, all_headers, body)
        result = self._handler(event, LambdaContext())
        return ApiResponse(
            result["statusCode"], result.get("headers") or {}, result.get("body") or ""
        )

    def get(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> ApiResponse:
        return self.request("POST", path, json_body, **kw)

    def put(self, path: str, json_body: Any = None, **kw: Any) -> ApiResponse:
        return self.request("PUT", path, json_body, **kw)

    def delete(self, path: str, **kw: Any) -> ApiResponse:
        return self.request("DELETE", path, **kw)
