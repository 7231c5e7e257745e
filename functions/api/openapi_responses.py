"""The statuses each route documents in the OpenAPI document, with their bodies."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel

from reservations.http.models import ErrorResponse, GatewayErrorResponse
from reservations.values import IDENTIFIER_MAX, IDENTIFIER_PATTERN

IdentifierPath = Annotated[str, Path(max_length=IDENTIFIER_MAX, pattern=IDENTIFIER_PATTERN)]


def documented(description: str, model: type[BaseModel] = ErrorResponse) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": model}}}


# Every route that needs a token: API Gateway's authorizer (or the local one) answers these.
AUTH_ERRORS: dict[int, OpenAPIResponse] = {
    401: documented(
        "No valid token: missing, expired, forged or for another audience", GatewayErrorResponse
    ),
    403: documented("The token lacks every scope this route accepts", GatewayErrorResponse),
}
ERRORS: dict[int, OpenAPIResponse] = {
    400: documented("Invalid request: the field and the reason"),
    404: documented("Unknown reservation, sku or route; another channel's hold is unknown"),
    503: documented("Gave up under contention; retry after the Retry-After header"),
    **AUTH_ERRORS,
}
# Routes with a body: refused before parsing when it is too large or not JSON.
BODY_ERRORS: dict[int, OpenAPIResponse] = {
    413: documented("PAYLOAD_TOO_LARGE: the body exceeds the size limit"),
    415: documented("UNSUPPORTED_MEDIA_TYPE: send application/json in UTF-8"),
    **ERRORS,
}
TRANSITION: dict[int, OpenAPIResponse] = {
    409: documented("INVALID_STATE: the transition is impossible from the current status"),
    **BODY_ERRORS,
}
