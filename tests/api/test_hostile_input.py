"""Hostile input: each a clear 4xx with a JSON error, never a 500, never a partial write."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.support.api_client import HandlerClient

LINE = {"sku": "SKU-A", "location": "WH1", "quantity": 1}


@pytest.fixture
def stocked(api: HandlerClient) -> HandlerClient:
    assert api.put("/inventory/SKU-A/locations/WH1", {"onHand": 10}).status == 200
    return api


def unchanged(api: HandlerClient) -> None:
    body = api.get("/inventory/SKU-A").json
    assert (body["onHand"], body["reserved"], body["available"]) == (10, 0, 10)
    assert api.get("/inventory/SKU-A/reservations").json["holds"] == []


def nested(depth: int) -> str:
    return '{"items": ' + "[" * depth + "]" * depth + "}"


RAW_BODIES: list[tuple[str, bytes | str, int, str]] = [
    ("over-the-size-limit", json.dumps({"items": [LINE], "pad": "x" * 70_000}), 413,
     "PAYLOAD_TOO_LARGE"),
    ("deeply-nested", nested(10_000), 400, "MALFORMED_JSON"),
    ("just-deep-enough-to-hurt", nested(33), 400, "MALFORMED_JSON"),
    ("not-utf-8", b'{"items": [{"sku": "\xff\xfe"}]}', 400, "MALFORMED_BODY"),
    ("truncated-json", '{"items": [', 400, "MALFORMED_JSON"),
    ("a-json-array", "[]", 400, "VALIDATION_ERROR"),
    ("a-json-string", '"hello"', 400, "VALIDATION_ERROR"),
    ("nan", '{"items": [{"sku": "SKU-A", "location": "WH1", "quantity": NaN}]}', 400,
     "VALIDATION_ERROR"),
    ("infinity", '{"items": [{"sku": "SKU-A", "location": "WH1", "quantity": 1e400}]}', 400,
     "VALIDATION_ERROR"),
    ("a-5000-digit-integer",
     '{"items": [{"sku": "SKU-A", "location": "WH1", "quantity": ' + "9" * 5000 + "}]}",
     400, None),
    ("a-5000-digit-expiry",
     '{"items": [{"sku": "SKU-A", "location": "WH1", "quantity": 1}], "expiresInSeconds": '
     + "9" * 5000 + "}", 400, None),
    ("too-many-lines",
     json.dumps({"items": [{**LINE, "location": f"L{i}"} for i in range(200)]}), 400,
     "VALIDATION_ERROR"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [case[1:] for case in RAW_BODIES],
    ids=[case[0] for case in RAW_BODIES],
)
def test_a_hostile_body_is_a_clear_4xx_and_holds_nothing(
    stocked: HandlerClient, body: bytes | str, status: int, code: str | None
) -> None:
    response = stocked.post("/reservations", body=body)
    assert response.status == status, response.text
    if code is not None:
        assert response.json["error"] == code
    assert response.json["message"]
    unchanged(stocked)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
     "application/xml", "application/json-patch+json"],
)  # fmt: skip
def test_an_unexpected_content_type_is_415(stocked: HandlerClient, content_type: str) -> None:
    response = stocked.post(
        "/reservations", {"items": [LINE]}, headers={"Content-Type": content_type}
    )
    assert response.status == 415
    assert response.json["error"] == "UNSUPPORTED_MEDIA_TYPE"
    unchanged(stocked)


@pytest.mark.parametrize(
    "content_type",
    ["application/json; charset=iso-8859-1", "application/json; charset=utf-16",
     'APPLICATION/JSON; CHARSET="latin1"'],
)  # fmt: skip
def test_a_charset_other_than_utf_8_is_415_with_the_documented_body(
    stocked: HandlerClient, content_type: str
) -> None:
    response = stocked.post(
        "/reservations", {"items": [LINE]}, headers={"Content-Type": content_type}
    )
    assert response.status == 415
    assert response.headers["Content-Type"] == "application/json"
    body = response.json
    assert body["error"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "UTF-8" in body["message"]
    assert [detail["field"] for detail in body["details"]] == ["header.content-type"]
    unchanged(stocked)


@pytest.mark.parametrize(
    "content_type",
    ["APPLICATION/JSON", "Application/Json; Charset=UTF-8", 'application/json;charset="utf-8"'],
)  # fmt: skip
def test_the_json_media_type_and_charset_compare_case_insensitively(
    stocked: HandlerClient, content_type: str
) -> None:
    response = stocked.post(
        "/reservations", {"items": [LINE]}, headers={"Content-Type": content_type}
    )
    assert response.status == 201, response.text
    assert stocked.get("/inventory/SKU-A").json["reserved"] == 1


# Named, not shown by repr: mutmut hands node ids back to pytest, and ids holding '/', '#'
# or escapes were not found again.
BAD_IDENTIFIERS = {
    "slash": "a/b",
    "hash": "a#b",
    "leading-dash": "-leading-dash",
    "space": "white space",
    "non-ascii": "é",
    "nul": "a\x00b",
    "too-long": "x" * 65,
    "empty": "",
    "lone-surrogate": "\ud800",
    "markup": "<script>",
    "encoded-slash": "a%2Fb",
}


@pytest.mark.parametrize("value", BAD_IDENTIFIERS.values(), ids=BAD_IDENTIFIERS.keys())
@pytest.mark.parametrize("field", ["id", "orderId", "sku", "location"])
def test_identifiers_outside_their_alphabet_or_length_are_400(
    stocked: HandlerClient, field: str, value: str
) -> None:
    line = {**LINE, field: value} if field in ("sku", "location") else LINE
    body: dict[str, Any] = {"items": [line]}
    if field in ("id", "orderId"):
        body[field] = value
    response = stocked.post("/reservations", body)
    assert response.status == 400, response.text
    assert response.json["error"] == "VALIDATION_ERROR"
    unchanged(stocked)


INVALID = (400, "VALIDATION_ERROR")


# The path stays percent-encoded, as REST APIs pass it: an encoded '#', NUL or slash is part
# of its segment, and the identifier's alphabet refuses it.
@pytest.mark.parametrize(
    ("path", "expected"),
    [("/inventory/a%23b", INVALID), ("/inventory/%C3%A9", INVALID),
     ("/inventory/" + "x" * 65, INVALID), ("/reservations/a%00b", INVALID),
     ("/inventory/-x/reservations", INVALID), ("/inventory/SKU-A/locations/a%23b", INVALID),
     ("/inventory/SKU-A/locations/WH1%2F", INVALID)],
)  # fmt: skip
def test_identifiers_in_paths_are_checked_too(
    stocked: HandlerClient, path: str, expected: tuple[int, str]
) -> None:
    method = "PUT" if "/locations/" in path else "GET"
    body = {"onHand": 1} if method == "PUT" else None
    response = stocked.request(method, path, body)
    assert (response.status, response.json["error"]) == expected, response.text
    unchanged(stocked)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", 0),
        ("quantity", -1),
        ("quantity", 1_000_000_001),
        ("quantity", 2**53 + 1),
        ("quantity", 2**64),
        ("quantity", 10**30),
        ("quantity", 1.5),
        ("quantity", 1.0),
        ("quantity", "1"),
        ("quantity", True),
        ("quantity", None),
        ("expiresInSeconds", 0),
        ("expiresInSeconds", -5),
        ("expiresInSeconds", 2**53),
        ("expiresInSeconds", 10**30),
        ("expiresInSeconds", 60.5),
    ],
)
def test_integers_outside_their_range_are_400(
    stocked: HandlerClient, field: str, value: Any
) -> None:
    if field == "quantity":
        body: dict[str, Any] = {"items": [{**LINE, "quantity": value}]}
    else:
        body = {"items": [LINE], field: value}
    response = stocked.post("/reservations", body)
    assert response.status == 400, response.text
    assert response.json["error"] == "VALIDATION_ERROR"
    unchanged(stocked)


@pytest.mark.parametrize("value", [-1, 10**12 + 1, 2**53 + 1, 10**40, 3.5, "5", None, False])
def test_on_hand_outside_its_range_is_400_and_keeps_the_stock(
    stocked: HandlerClient, value: Any
) -> None:
    response = stocked.put("/inventory/SKU-A/locations/WH1", {"onHand": value})
    assert response.status == 400, response.text
    unchanged(stocked)


def test_a_partial_release_never_half_applies(stocked: HandlerClient) -> None:
    body = {"id": "h1", "items": [LINE, {**LINE, "location": "WH2", "quantity": 1}]}
    stocked.put("/inventory/SKU-A/locations/WH2", {"onHand": 1})
    assert stocked.post("/reservations", body).status == 201
    # The second line asks for more than it holds: nothing is released, not even the first.
    release = {"items": [LINE, {**LINE, "location": "WH2", "quantity": 5}]}
    response = stocked.post("/reservations/h1/release", release)
    assert response.status == 400, response.text
    held = stocked.get("/reservations/h1").json
    assert [item["held"] for item in held["items"]] == [1, 1]
