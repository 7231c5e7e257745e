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


# --- the JSON scanner, at its limits ---------------------------------------------------------
# Every body here is sent as plain "application/json" or with no Content-Type at all, so these
# say nothing about how media types are matched.


def nested(levels: int) -> str:
    return "[" * levels + "]" * levels


def guarded(body: str, max_bytes: int = 100_000) -> str | None:
    return code(refuse(event(body), max_bytes))


def test_exactly_the_maximum_depth_passes_and_one_more_is_refused() -> None:
    assert guarded(nested(32)) is None
    assert guarded(nested(33)) == "MALFORMED_JSON"
    assert guarded('{"a": ' + nested(31) + "}") is None  # the object is a level too
    assert guarded('{"a": ' + nested(32) + "}") == "MALFORMED_JSON"


def test_depth_is_how_deep_brackets_are_open_not_how_many_were_opened() -> None:
    wide = "[" + ",".join(["[]"] * 200) + "]"  # 201 brackets, 2 deep
    assert guarded(wide) is None
    # Each "[[]" leaves one more open: closing one must not forget the others.
    interleaved = "[[]" * 40 + "]" * 40
    assert guarded(interleaved) == "MALFORMED_JSON"


def test_a_string_ends_at_its_closing_quote_after_any_escape() -> None:
    bomb = nested(100)
    # Each string is over at its second unescaped quote; the bomb after it is seen.
    for string in (r'"\n"', r'"\""', r'"\\"', r'"a\\\"b"', r'"\u005c"'):
        assert guarded(f'{{"s": {string}, "b": {bomb}}}') == "MALFORMED_JSON", string
    # An escaped quote does not end one: the brackets are still inside the string.
    assert guarded('{"s": "\\"' + nested(100) + '"}') is None


def test_digits_count_per_number_not_per_body() -> None:
    hundred = "9" * 100
    assert guarded(f"[{hundred}, {hundred}, {hundred}]") is None
    assert guarded(f'{{"a": {hundred}, "b": 1.{"0" * 99}}}') is None
    assert guarded(f"[{hundred}9]") == "VALIDATION_ERROR"


def test_exactly_the_maximum_size_passes_and_one_byte_more_is_refused() -> None:
    body = '{"id": "' + "x" * 90 + '"}'
    assert len(body) == 100
    assert refuse(event(body), 100) is None
    too_large = refuse(event(body + " "), 100)
    assert too_large is not None
    assert too_large["statusCode"] == 413
    assert json.loads(too_large["body"]) == {
        "error": "PAYLOAD_TOO_LARGE",
        "message": "body is 101 bytes; the limit is 100",
        "details": [{"field": "body", "reason": "body is 101 bytes; the limit is 100"}],
    }


def test_a_body_without_a_content_type_is_read_as_json() -> None:
    for headers in ({}, None, {"Accept": "application/json"}):
        request = {"httpMethod": "POST", "headers": headers, "body": nested(32)}
        assert refuse(request, 1000) is None
        bomb = {**request, "body": nested(33)}
        assert code(refuse(bomb, 1000)) == "MALFORMED_JSON"
    assert refuse({"httpMethod": "PUT", "body": '{"onHand": 1}'}, 1000) is None


def test_only_methods_with_a_body_are_looked_at() -> None:
    for method in ("post", "PUT", "Patch"):
        assert code(refuse(event(nested(33), method=method), 1000)) == "MALFORMED_JSON"
    for method in ("GET", "DELETE", "HEAD", "OPTIONS"):
        assert refuse(event(nested(33), method=method), 10) is None
    assert refuse(event("", method="POST"), 10) is None


def test_refusals_are_proxy_responses_naming_the_problem() -> None:
    deep = refuse(event(nested(33)), 1000)
    assert deep is not None
    assert (deep["statusCode"], deep["isBase64Encoded"]) == (400, False)
    assert deep["headers"] == {"Content-Type": "application/json"}
    assert json.loads(deep["body"])["message"] == "JSON nests deeper than 32 levels"
    digits = refuse(event("[" + "9" * 101 + "]"), 1000)
    assert digits is not None and digits["statusCode"] == 400
    assert json.loads(digits["body"])["message"] == (
        "a number has more than 100 digits: beyond any field's range"
    )


def test_bytes_that_are_not_utf8_are_refused_with_their_position() -> None:
    lone_surrogate = '{"a": "\ud800"}'  # a str API Gateway could hand over
    response = refuse(event(lone_surrogate), 1000)
    assert response is not None and response["statusCode"] == 400
    assert json.loads(response["body"])["message"] == "body is not valid UTF-8 (byte 7)"
    flagged = refuse(event(base64.b64encode(b'["\xc3"]').decode(), b64=True), 1000)
    assert flagged is not None
    assert json.loads(flagged["body"])["message"] == "body is not valid UTF-8 (byte 2)"


def test_a_base64_body_is_measured_and_scanned_once_decoded() -> None:
    def encoded(levels: int) -> str:
        return base64.b64encode(nested(levels).encode()).decode()

    assert code(refuse(event(encoded(33), b64=True), 1000)) == "MALFORMED_JSON"
    # The limit applies to the body, not its encoding: 64 bytes are 88 characters of base64.
    assert refuse(event(encoded(32), b64=True), 64) is None
    assert code(refuse(event(encoded(32), b64=True), 63)) == "PAYLOAD_TOO_LARGE"
    invalid = refuse(event("eyJhIjox?", b64=True), 1000)
    assert invalid is not None
    assert (
        json.loads(invalid["body"])["message"] == "body is flagged base64 but is not valid base64"
    )


def test_a_refused_content_type_is_named_as_sent_in_a_415() -> None:
    response = refuse(event("<a/>", " Text/XML "), 100)
    assert response is not None
    assert response["statusCode"] == 415
    message = "content type 'Text/XML' is not supported; send application/json in UTF-8"
    assert json.loads(response["body"]) == {
        "error": "UNSUPPORTED_MEDIA_TYPE",
        "message": message,
        "details": [{"field": "header.content-type", "reason": message}],
    }


def test_a_charset_is_utf8_only_when_its_whole_value_says_so() -> None:
    for declared in (
        "application/json; charset=UTF-8X",  # not a quote, not a charset name we speak
        "application/json; charset=utf-8=x",  # the value runs to the end, "=" and all
    ):
        assert code(refuse(event("{}", declared), 100)) == "UNSUPPORTED_MEDIA_TYPE", declared


def test_an_empty_body_is_not_looked_at_whatever_its_content_type() -> None:
    assert refuse(event("", "text/plain"), 10) is None
    assert refuse(event(None, "text/plain"), 10) is None


def test_a_body_flagged_base64_that_is_not_is_a_400() -> None:
    response = refuse(event("***", b64=True), 100)
    assert response is not None
    assert (response["statusCode"], code(response)) == (400, "MALFORMED_BODY")


def test_the_json_content_type_replaces_the_header_as_sent_and_keeps_the_others() -> None:
    shouted = {
        "httpMethod": "POST",
        "headers": {"x-request-id": "1", "content-type": "Application/JSON", "Accept": "*/*"},
        "body": "{}",
    }
    assert with_canonical_content_type(shouted)["headers"] == {
        "x-request-id": "1",
        "Accept": "*/*",
        "Content-Type": "application/json",
    }
