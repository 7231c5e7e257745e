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

from reservations.http.errors import gateway_error

from .template import resources

STAGE = "local"


# What a REST API answers itself, invoking nothing, for a method and path that fill no
# resource of the API (not a 404: it does not tell which paths exist).
MISSING_AUTHENTICATION_TOKEN = {"message": "Missing Authentication Token"}


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    resource: str
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class Match:
    resource: str
    parameters: dict[str, str] | None


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


def match(method: str, path: str) -> Match | None:
    """The route API Gateway (REST) resolves a request to, or None: it then answers 403
    Missing Authentication Token itself.

    ``path`` is the path as sent, still percent-encoded: a ``%2F`` is part of a segment,
    never a separator, and a percent-encoded literal is not that literal. One trailing
    slash resolves to the resource without it (REST APIs route ``/x/`` to ``/x``, with its
    authorizer); ``//``, an empty segment or a dot segment fills no resource. Parameters
    are decoded, as API Gateway decodes ``pathParameters``.
    """
    if path.endswith("/") and path != "/":
        path = path[:-1]
    # A method's own route wins over the path's ANY route, as in API Gateway.
    for wanted in (method.upper(), "ANY"):
        for route in routes():
            found = route.pattern.match(path)
            if found and route.method == wanted:
                parameters = {name: unquote(value) for name, value in found.groupdict().items()}
                return Match(route.resource, parameters or None)
    return None


def refuse_unrouted(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """API Gateway's own answer when the event's method and path fill no route, else None."""
    if match(str(event["httpMethod"]), str(event["path"])) is None:
        return gateway_error(403, MISSING_AUTHENTICATION_TOKEN)
    return None


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
    # Kept percent-encoded, as REST APIs pass it (HTTP APIs decode it; this is not one).
    path = split.path or "/"
    method = method.upper()
    found = match(method, path)
    # An event for a path that fills no route (API Gateway never sends one) keeps the path
    # as its resource, so the function's own check sees that it is unmapped.
    resource, path_parameters = (found.resource, found.parameters) if found else (path, None)
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
