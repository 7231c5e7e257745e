"""What API Gateway (REST, Lambda proxy) would hand the function for an HTTP request.

Routes are read from ``template.yaml``'s ``Api`` events, so ``resource`` and
``pathParameters`` are those API Gateway would send; the local server, ``make invoke``
and the tests build events here, so the handler sees one shape everywhere.
"""

from __future__ import annotations

import base64
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from .table import resources

STAGE = "local"


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    resource: str
    pattern: re.Pattern[str]


@cache
def routes() -> tuple[Route, ...]:
    found = []
    for resource in resources().values():
        for event in (resource.get("Properties", {}).get("Events") or {}).values():
            if event.get("Type") != "Api":
                continue
            path = event["Properties"]["Path"]
            regex = re.sub(r"\\\{([A-Za-z0-9_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
            found.append(
                Route(event["Properties"]["Method"].upper(), path, re.compile(f"^{regex}$"))
            )
    return tuple(found)


def match(method: str, path: str) -> tuple[str, dict[str, str] | None]:
    """The route template and path parameters for a request, as API Gateway resolves them."""
    for route in routes():
        found = route.pattern.match(path)
        if found and route.method in (method, "ANY"):
            return route.resource, dict(found.groupdict()) or None
    return path, None


class LambdaContext:
    """The attributes of the Lambda context object that Powertools reads."""

    def __init__(self, function_name: str = "api", timeout_seconds: float = 10.0) -> None:
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = 512
        self.invoked_function_arn = (
            f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
        )
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def proxy_event(
    method: str,
    url: str,
    headers: Mapping[str, str] | None = None,
    body: bytes | str | None = None,
    source_ip: str = "127.0.0.1",
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    split = urlsplit(url)
    path = unquote(split.path) or "/"
    method = method.upper()
    resource, path_parameters = match(method, path)
    multi_query = parse_qs(split.query, keep_blank_values=True) if split.query else None
    header_map = dict(headers or {})
    text: str | None
    is_base64 = False
    if body is None or body in (b"", ""):
        text = None
    elif isinstance(body, bytes):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, is_base64 = base64.b64encode(body).decode(), True
    else:
        text = body
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": header_map or None,
        "multiValueHeaders": {k: [v] for k, v in header_map.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()}
        if multi_query
        else None,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "accountId": "000000000000",
            "apiId": "local",
            "resourceId": "local",
            "resourcePath": resource,
            "httpMethod": method,
            # As the client called it: the local server maps the stage at its root, as a
            # custom domain does (the default execute-api URL would add "/local").
            "path": path,
            "stage": STAGE,
            "protocol": "HTTP/1.1",
            "requestId": request_id,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime()),
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": source_ip, "userAgent": header_map.get("User-Agent", "")},
            "authorizer": dict(authorizer) if authorizer else None,
        },
        "body": text,
        "isBase64Encoded": is_base64,
    }
