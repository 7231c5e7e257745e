"""Limits on the shape of a JSON text, checked in one pass before anything parses it.

Python's parser recurses once per nesting level and raises RecursionError (no ValueError)
past about a thousand, and refuses integers of more than 4300 digits with a bare
ValueError. The HTTP API (``request_guard``) and the ERP's messages (``erp_messages``)
refuse such texts unparsed, with the same limits.
"""

from __future__ import annotations

from enum import Enum

MAX_JSON_DEPTH = 32
# Every number of the API and of the ERP's messages is an integer below 2**53 (16 digits).
# Anything up to this length goes on to validation, which names the field; a longer run of
# digits is refused unparsed.
MAX_NUMBER_DIGITS = 100


class ShapeProblem(Enum):
    DEPTH = f"JSON nests deeper than {MAX_JSON_DEPTH} levels"
    DIGITS = f"a number has more than {MAX_NUMBER_DIGITS} digits: beyond any field's range"


def shape_problem(text: str) -> ShapeProblem | None:
    """What is wrong with the JSON's shape, outside strings, in one pass (cheaper than
    recursing into a bomb): brackets nested too deep, or a number with too many digits."""
    depth = digits = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
            continue
        if char.isdigit():
            digits += 1
            if digits > MAX_NUMBER_DIGITS:
                return ShapeProblem.DIGITS
            continue
        digits = 0
        if char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return ShapeProblem.DEPTH
        elif char in "]}":
            depth -= 1
    return None
