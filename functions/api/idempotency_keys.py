"""The ``Idempotency-Key`` header (IETF httpapi draft): the first request with a key takes
effect and its answer is written in the transaction of its effect; a repeat gets that
answer (docs/architecture.md, "Idempotency keys")."""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Request, Response
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from pydantic import BaseModel

from reservations import access
from reservations.http.errors import error_body
from reservations.idempotency import Remember
from reservations.store import IdempotencyStore, KeyClaim, KeyCompleted, KeyInUse, StoredResponse
from route_dependencies import CALLER, Service

T = TypeVar("T")
HEADER = "idempotency-key"
REPLAYED = "Idempotent-Replayed"
MUTATIONS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255
# Headers of an answer that a replay repeats; the rest are the gateway's or per request.
KEPT_HEADERS = ("Location", "ETag", "Retry-After")
KEYS = "idempotency-keys"  # this request's Keys in the resolver's context


def key_of(event: Mapping[str, Any]) -> str | None:
    """The key as sent: a Structured Field string (``"abc"``) or, as many clients send it,
    bare. None without the header; ValueError when it is not 1-255 printable ASCII."""
    headers = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    raw = headers.get(HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in key):
        raise ValueError("must be 1 to 255 printable ASCII characters")
    return key


def fingerprint(channel: str, event: Mapping[str, Any]) -> str:
    """Identity of the request: channel, method, path and body (JSON compared by meaning,
    so a client that re-serialises its body differently still matches)."""
    body = event.get("body") or ""
    with contextlib.suppress(ValueError):  # not JSON: compared as sent
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":"))
    method = str(event.get("httpMethod", "")).upper()
    text = json.dumps([channel, method, str(event.get("path", "")), body])
    return hashlib.sha256(text.encode()).hexdigest()


def error(status: int, code: str, message: str, **headers: str) -> Response[Any]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=error_body(
            code, message, details=[{"field": "header.idempotency-key", "reason": message}]
        ),
        headers=headers,
    )


def replay(response: StoredResponse) -> Response[Any]:
    return Response(
        status_code=response.status,
        content_type="application/json",
        body=response.body,
        headers={**dict(response.headers), REPLAYED: "true"},
    )


@dataclass(slots=True)
class Keys:
    """This request's idempotency key, if it sent one: what routes give the service."""

    store: IdempotencyStore | None = None
    claim: KeyClaim | None = None
    remembered: Remember[Any] | None = None

    def remember(self, render: Callable[[T], StoredResponse]) -> Remember[T] | None:
        if self.claim is None or self.store is None:
            return None
        remembered: Remember[T] = Remember(self.claim, render, self.store)
        self.remembered = remembered
        return remembered

    def respond(self, result: T, render: Callable[[T], StoredResponse]) -> Response[Any]:
        """The answer the key remembers when a write carried it, so first answer and
        replays are the same bytes; otherwise ``render(result)``."""
        written = self.remembered
        answer = written.answer if written and written.written and written.answer else None
        return as_response(answer or render(result))

    @property
    def settled(self) -> bool:
        """No key, or its answer is already written with the effect."""
        return self.claim is None or (self.remembered is not None and self.remembered.written)


def answer(status: int, model: BaseModel, *headers: tuple[str, str]) -> StoredResponse:
    body = json.dumps(model.model_dump(mode="json"), separators=(",", ":"))
    return StoredResponse(status, body, tuple(headers))


def as_response(stored: StoredResponse) -> Response[Any]:
    return Response(
        status_code=stored.status,
        content_type="application/json",
        body=stored.body,
        headers=dict(stored.headers),
    )


def begin(
    event: Mapping[str, Any], caller: access.Caller | None, keys: Keys, now: int
) -> Response[Any] | None:
    """Claims the request's key; the finished answer instead when the request must not run
    (a replay, a key in use or reused, a malformed key)."""
    if caller is None or keys.store is None:
        return None
    method = str(event.get("httpMethod", "")).upper()
    route = (method, str(event.get("resource", "")))
    if method not in MUTATIONS or route in access.READS_WITH_A_BODY:
        return None
    try:
        key = key_of(event)
    except ValueError as bad:
        return error(400, "VALIDATION_ERROR", f"Idempotency-Key {bad}")
    if key is None:
        return None
    mine = fingerprint(caller.channel, event)
    try:
        keys.claim = keys.store.claim(caller.channel, key, mine, now)
    except KeyCompleted as done:
        return replay(done.response) if done.fingerprint == mine else reused()
    except KeyInUse as busy:
        if busy.fingerprint and busy.fingerprint != mine:
            return reused()
        return in_use(busy)
    return None


def in_use(busy: KeyInUse) -> Response[Any]:
    return error(
        409,
        "IDEMPOTENCY_KEY_IN_USE",
        "a request with this Idempotency-Key is still in flight; retry later",
        **{"Retry-After": str(busy.retry_after)},
    )


def reused() -> Response[Any]:
    return error(
        422,
        "IDEMPOTENCY_KEY_REUSED",
        "this Idempotency-Key was used for a different request (channel, method, path, body)",
    )


def finish(keys: Keys, response: Response[Any] | None, now: int) -> None:
    """After the route: a success that no write carried (nothing changed) is remembered
    now; a failure (or an exception: ``response`` None) gives the key back, since it took
    no effect."""
    if keys.settled or keys.claim is None or keys.store is None:
        return
    if response is None or response.status_code >= 300:
        keys.store.release(keys.claim)
        return
    body = response.body
    if isinstance(body, BaseModel):
        body = body.model_dump_json()
    elif not isinstance(body, str):
        body = json.dumps(body, separators=(",", ":"))
    kept = tuple((k, str(v)) for k, v in (response.headers or {}).items() if k in KEPT_HEADERS)
    keys.store.complete(keys.claim, StoredResponse(response.status_code, body, kept), now)


def middleware(
    app: APIGatewayRestResolver, next_middleware: NextMiddleware, service: Service
) -> Response[Any]:
    """Runs every matched route: claims a mutation's key first, answers a repeat from what
    the key remembers, and settles the key once the route has answered."""
    keys = Keys(service.idempotency_keys)
    app.context[KEYS] = keys
    event = app.current_event.raw_event
    finished = begin(event, app.context.get(CALLER), keys, service.now())
    if finished is not None:
        return finished
    try:
        response = next_middleware(app)
    except KeyCompleted as done:
        return replay(done.response)  # this request's own earlier attempt wrote it
    except KeyInUse as busy:
        return in_use(busy)
    except Exception:
        finish(keys, None, service.now())
        raise
    finish(keys, response, service.now())
    return response


def get_keys(request: Request) -> Keys:
    found = request.context.get(KEYS)
    return found if isinstance(found, Keys) else Keys()


IdempotencyKeys = Annotated[Keys, Depends(get_keys)]
