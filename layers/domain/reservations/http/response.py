"""The base of every response body, and fields a body leaves out rather than send null."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ResponseModel(BaseModel):
    model_config = ConfigDict(defer_build=True)


def _is_none(value: object) -> bool:
    return value is None


def absent_when_null(description: str | None = None) -> Any:
    """A field added by issue 14: left out of the JSON when it has no value, so the bodies
    of holds that do not use it stay exactly as they were."""
    return Field(default=None, exclude_if=_is_none, description=description)
