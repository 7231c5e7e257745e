from __future__ import annotations

import base64
import json
from typing import Any

from reservations.http.request_guard import refuse, with_canonical_content_type


def event(
    body: str | None,
    content_type: str = "application/json",
    method: str = "POST",
    b64: bool = False,
) -> dict[str, Any]:
    return {
        "httpMethod": method,
        "headers": {"Content-Type": content_type},
        "body": body,
        "isBase64Encoded": b64,
    }


def code(response: dict[str, Any] | None) -> str | None:
    return None if response is None else json.loads(response["body"])["error"]


def test_ordinary_json_passes() -> None:
    assert refuse(event('{"items": [{"a": "[{"}]}'), 1000) is None
    assert refuse(event("{}", "application/json; charset=utf-8"), 1000) is None
    assert refuse(event(None, method="GET"), 10) is None


def test_size_is_counted_in_bytes() -> None:
    assert code(refuse(event('"' + "é" * 300 + '"'), 500)) == "PAYLOAD_TOO_LARGE"


def test_depth_outside_strings_only() -> None:
    assert refuse(event(json.dumps({"s": "[" * 100})), 10_000) is None
    assert code(refuse(event("[" * 33 + "]" * 33), 10_000)) == "MALFORMED_JSON"


def test_base64_bodies() -> None:
    good = base64.b64encode(b'{"a": 1}').decode()
    assert refuse(event(good, b64=True), 100) is None
    bad_utf8 = base64.b64encode(b'{"a": "\xff"}').decode()
    assert code(refuse(event(bad_utf8, b64=True), 100)) == "MALFORMED_BODY"
    assert code(refuse(event("***", b64=True), 100)) == "MALFORMED_BODY"


def test_content_type() -> None:
    response = refuse(event("<a/>", "application/xml"), 100)
    assert response is not None and response["statusCode"] == 415
    # Media types, parameter names and charset names are case-insensitive (RFC 9110 8.3).
    assert refuse(event("{}", "APPLICATION/JSON"), 100) is None
    assert refuse(event("{}", 'Application/Json ; CHARSET="UTF-8"'), 100) is None
    assert code(refuse(event("{}", "application/json; charset=latin-1"), 100)) == (
        "UNSUPPORTED_MEDIA_TYPE"
    )
    assert code(refuse(event("{}", "text/json; charset=utf-8"), 100)) == "UNSUPPORTED_MEDIA_TYPE"


def test_a_json_media_type_reaches_powertools_spelt_as_it_expects() -> None:
    # Powertools parses a body as JSON only if the header starts with "application/json".
    shouted = event("{}", "APPLICATION/JSON; Charset=UTF-8")
    assert with_canonical_content_type(shouted)["headers"] == {"Content-Type": "application/json"}
    assert shouted["headers"] == {"Content-Type": "APPLICATION/JSON; Charset=UTF-8"}  # a copy
    plain = event("{}")
    assert with_canonical_content_type(plain) is plain


def test_numbers_of_more_than_a_hundred_digits_are_refused_before_parsing() -> None:
    # Python's JSON parser raises a bare ValueError past 4300 digits: that would be a 500.
    assert code(refuse(event('{"quantity": ' + "9" * 5000 + "}"), 100_000)) == "VALIDATION_ERROR"
    assert code(refuse(event('{"quantity": 1' + "0" * 100 + "}"), 1000)) == "VALIDATION_ERROR"
    assert code(refuse(event('{"q": 1.' + "0" * 100 + "1}"), 1000)) == "VALIDATION_ERROR"
    # Shorter ones go on to validation, which names the field and the range.
    assert refuse(event('{"quantity": ' + "9" * 100 + "}"), 1000) is None
    assert refuse(event('{"q": 1.' + "0" * 99 + "}"), 1000) is None


def test_long_digit_runs_inside_strings_are_fine() -> None:
    assert refuse(event('{"id": "' + "1" * 60 + '", "n": "\\"' + "2" * 40 + '"}'), 1000) is None
