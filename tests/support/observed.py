"""Every (method, route, status) the suites saw the API function answer, so the session can
check that the OpenAPI document lists each of them (tests/conftest.py)."""

from __future__ import annotations

import json
from pathlib import Path

SEEN: set[tuple[str, str, int]] = set()


def record(method: str, resource: str, status: int) -> None:
    SEEN.add((method.upper(), resource, status))


def gather(folder: Path) -> set[tuple[str, str, int]]:
    seen = set(SEEN)
    for path in folder.glob("*.json"):
        seen |= {(m, r, int(s)) for m, r, s in json.loads(path.read_text(encoding="utf-8"))}
    return seen


def undocumented(
    seen: set[tuple[str, str, int]], document: dict[str, object]
) -> list[tuple[str, str, int]]:
    """What was seen on a documented operation but is not among its documented statuses."""
    paths: dict[str, dict[str, dict[str, object]]] = document["paths"]  # type: ignore[assignment]
    missing = []
    for method, resource, status in sorted(seen):
        operation = paths.get(resource, {}).get(method.lower())
        if operation is None:
            continue  # an unknown route, or one the document leaves out (the documents)
        responses = operation.get("responses") or {}
        assert isinstance(responses, dict)
        if str(status) not in responses:
            missing.append((method, resource, status))
    return missing
