"""Error bodies of the HTTP API: ``{"error": CODE, "message": ..., ...}``, never a bare 500."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools.event_handler import Response

from ..errors import DomainError, InsufficientStock, OversellLimit, ShortItem, field_path

JSON = "application/json"


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": code, "message": message, **{k: v for k, v in extra.items() if v is not None}}


def error_response(
    status_code: int, error: DomainError, headers: Mapping[str, str] | None = None, **extra: Any
) -> Response[Any]:
    return Response(
        status_code=status_code,
        content_type=JSON,
        body=error_body(error.code, str(error), **extra),
        headers=dict(headers or {}),
    )


def short_stock_extra(error: InsufficientStock) -> dict[str, Any]:
    """What a 409 for stock adds to the error body: every refused line in ``items``, and for
    OVERSELL_LIMIT, each allowOversell line among them in ``details``."""
    extra: dict[str, Any] = {"items": [_short_item(i) for i in error.items]}
    if isinstance(error, OversellLimit):
        extra["details"] = [
            {
                "field": f"body.items[{index}].quantity",
                "reason": f"at most {max(0, item.available + error.limit)} more can be oversold "
                f"at {item.sku}/{item.location} (available {item.available}, "
                f"oversell limit {error.limit})",
            }
            for index, item in error.oversold
        ]
    return extra


def _short_item(item: ShortItem) -> dict[str, Any]:
    found: dict[str, Any] = {
        "sku": item.sku,
        "location": item.location,
        "requested": item.requested,
        "available": item.available,
    }
    # A line the service was to allocate: what it was for, and each eligible location.
    if item.country is not None:
        found["country"] = item.country
    if item.site is not None:
        found["site"] = item.site
    if item.locations is not None:
        found["locations"] = [{"location": loc, "available": q} for loc, q in item.locations]
    return found


def validation_details(errors: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    details = []
    for error in errors:
        location = list(error.get("loc", ()))
        kind = error.get("type", "")
        reason = str(error.get("msg", "invalid"))
        if kind == "json_invalid":
            # Powertools puts the character offset in the location; say it in words instead.
            offset = location[1] if len(location) > 1 else "?"
            reason = (
                f"malformed JSON at character {offset}: {error.get('ctx', {}).get('error', '')}"
            )
            location = ["body"]
        elif kind == "extra_forbidden":
            reason = "unknown field"
        elif kind == "missing":
            reason = "required field is missing"
        details.append({"field": field_path(location), "reason": reason})
    return details


def validation_error_response(errors: Sequence[Mapping[str, Any]]) -> Response[Any]:
    details = validation_details(errors)
    malformed = any(error.get("type") == "json_invalid" for error in errors)
    code = "MALFORMED_JSON" if malformed else "VALIDATION_ERROR"
    summary = "; ".join(f"{d['field']}: {d['reason']}" for d in details)
    return Response(
        status_code=400,
        content_type=JSON,
        body=error_body(code, summary or "invalid request", details=details),
    )


def proxy_error(status: int, code: str, message: str, field: str = "body") -> dict[str, Any]:
    """A finished API Gateway proxy response, for requests refused before routing."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON},
        "body": json.dumps(
            error_body(code, message, details=[{"field": field, "reason": message}])
        ),
        "isBase64Encoded": False,
    }


def gateway_error(status: int, body: Mapping[str, str]) -> dict[str, Any]:
    """An answer in API Gateway's own shape (``{"message": ...}``), as its authorizer gives."""
    return {
        "statusCode": status,
        "headers": {"Content-Type": JSON},
        "body": json.dumps(dict(body)),
        "isBase64Encoded": False,
    }
