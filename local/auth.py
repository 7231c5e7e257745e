"""The local stack's stand-in for API Gateway's Cognito authorizer, and ``make token``.

    python -m local.auth --channel storefront --scopes "reservations/read reservations/write"

In AWS a channel gets an access token from Cognito (OAuth 2.0 client credentials, one app
client per channel) and API Gateway's Cognito authorizer checks it. Locally there is no
Cognito: tokens are signed here with a development RSA key, and ``LocalAuthorizer`` checks
them with the same rules before the function runs: signature (RS256 only), expiry,
issuer, audience, then the route's scopes from ``reservations.access`` (the table the
template's ``AuthorizationScopes`` are tested against). No valid token is ``401
{"message": "Unauthorized"}``, too few scopes ``403 {"message": "Forbidden"}``. The claims
go where API Gateway puts them: ``requestContext.authorizer.claims``, every value a string.

The key is generated on first use into ``.cache/local-auth/`` (git-ignored): a key in the
repository would be a key everybody has, and nothing outside this machine must ever trust
it. Delete the directory to rotate it; tokens signed before then stop verifying.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from reservations import access
from reservations.http.errors import gateway_error

from .template import ROOT

KEY_FILE = ROOT / ".cache" / "local-auth" / "dev-signing-key.pem"
KEY_ID = "local-dev"
ALGORITHM = "RS256"
# Stand-ins for the user pool's issuer URL and for this API: a token minted for anything
# else is refused.
ISSUER = "https://local-auth.soft-reservations.invalid/local-dev-pool"
AUDIENCE = "soft-reservations-api"
DEFAULT_TTL_SECONDS = 3600
# Claims a client-credentials access token from Cognito carries (plus ``aud`` here).
REQUIRED_CLAIMS = ("exp", "iat", "iss", "aud", "client_id", "scope", "token_use")


class Unauthorized(Exception):
    """No token, or one that does not verify; never says why to the caller."""


# --- the development key -------------------------------------------------------------------


def load_or_create_key(path: Path = KEY_FILE) -> rsa.RSAPrivateKey:
    """The key at ``path``, created there first if missing.

    Creation is atomic: the key is written to a temporary file and linked into place,
    so processes starting together (the stack and a test) all end up with the same key.
    """
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".key-")
        try:
            os.fchmod(handle, 0o600)
            os.write(handle, pem)
            os.close(handle)
            with contextlib.suppress(FileExistsError):  # another process won the race
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, rsa.RSAPrivateKey):
        raise ValueError(f"{path} is not an RSA private key; delete it to get a new one")
    return loaded


@cache
def dev_key() -> rsa.RSAPrivateKey:
    return load_or_create_key()


# --- tokens --------------------------------------------------------------------------------


def issue_token(
    channel: str,
    scopes: Iterable[str],
    *,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
    audience: str = AUDIENCE,
    issuer: str = ISSUER,
    key: rsa.RSAPrivateKey | None = None,
) -> str:
    """An access token shaped like Cognito's for client credentials, signed with ``key``."""
    claims = token_claims(
        channel, scopes, ttl_seconds=ttl_seconds, now=now, audience=audience, issuer=issuer
    )
    return jwt.encode(claims, key or dev_key(), algorithm=ALGORITHM, headers={"kid": KEY_ID})


def token_claims(
    channel: str,
    scopes: Iterable[str],
    *,
    ttl_seconds: int = DEFAULT_TTL_SECONDS,
    now: float | None = None,
    audience: str = AUDIENCE,
    issuer: str = ISSUER,
    jti: str | None = None,
) -> dict[str, Any]:
    """The claims of a client-credentials access token: the channel is the client."""
    issued = int(time.time() if now is None else now)
    return {
        "sub": channel,
        "client_id": channel,
        "token_use": "access",
        "scope": " ".join(scopes),
        "auth_time": issued,
        "iss": issuer,
        "aud": audience,
        "exp": issued + ttl_seconds,
        "iat": issued,
        "jti": jti or str(uuid.uuid4()),
        "version": 2,
    }


def verify_token(token: str, public_key: Any) -> dict[str, Any]:
    """The claims of a token that verifies; Unauthorized for any other."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            public_key,
            algorithms=[ALGORITHM],  # never "none", never an HMAC keyed with the public key
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": list(REQUIRED_CLAIMS)},
        )
    except jwt.PyJWTError as error:
        raise Unauthorized(type(error).__name__) from None
    if claims.get("token_use") != "access":
        raise Unauthorized("not an access token")
    return claims


def api_gateway_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """Claims as API Gateway's Cognito authorizer hands them on: every value a string,
    times as dates."""
    rendered = {}
    for name, value in claims.items():
        if name in ("exp", "iat", "auth_time") and isinstance(value, int | float):
            rendered[name] = time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime(value))
        else:
            rendered[name] = str(value)
    return rendered


def bearer(headers: Mapping[str, str] | None) -> str | None:
    """The token of an ``Authorization`` header (``Bearer <token>`` or the bare token)."""
    for name, value in (headers or {}).items():
        if name.lower() == "authorization":
            scheme, _, rest = value.strip().partition(" ")
            token = rest.strip() if scheme.lower() == "bearer" else value.strip()
            return token or None
    return None


class LocalAuthorizer:
    """API Gateway's Cognito authorizer, on the local stack."""

    def __init__(self, key: rsa.RSAPrivateKey | None = None) -> None:
        self._public_key = (key or dev_key()).public_key()

    def authorize(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """API Gateway's refusal for this proxy event, or None after putting the verified
        claims into its request context. Fails closed: only a public route passes without
        a token, and a route the scope table does not list admits no token."""
        method, resource = str(event["httpMethod"]), str(event["resource"])
        if access.is_public(method, resource):
            return None
        if resource in access.paths() and method.upper() not in access.methods_of(resource):
            return None  # the path's ANY route: no token, the function answers 405
        token = bearer(event.get("headers"))
        try:
            if token is None:
                raise Unauthorized("no token")
            claims = verify_token(token, self._public_key)
        except Unauthorized:
            return gateway_error(401, access.UNAUTHORIZED)
        if not access.admits(frozenset(str(claims["scope"]).split()), method, resource):
            return gateway_error(403, access.FORBIDDEN)
        event["requestContext"]["authorizer"] = {"claims": api_gateway_claims(claims)}
        return None


# --- make token ----------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m local.auth", description="Print a token the local stack accepts."
    )
    parser.add_argument("--channel", required=True, help="the app client, e.g. storefront")
    parser.add_argument(
        "--scopes",
        default=" ".join(access.ALL_SCOPES),
        help=f"space-separated, of: {' '.join(access.ALL_SCOPES)}",
    )
    parser.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS, help="seconds")
    args = parser.parse_args(argv)
    scopes = args.scopes.split()
    unknown = sorted(set(scopes) - set(access.ALL_SCOPES))
    if unknown:
        print(
            f"unknown scope(s): {' '.join(unknown)}; known: {' '.join(access.ALL_SCOPES)}",
            file=sys.stderr,
        )
        return 2
    if not args.channel.strip() or any(c.isspace() for c in args.channel):
        print("CHANNEL must be one word, e.g. storefront", file=sys.stderr)
        return 2
    print(issue_token(args.channel, scopes, ttl_seconds=args.ttl))
    return 0


if __name__ == "__main__":
    sys.exit(main())


# What the console's development sign-in grants: what its screens and actions need.
CONSOLE_CHANNEL = "console"
CONSOLE_SCOPES = (access.RESERVATIONS_ADMIN, access.INVENTORY_READ)


def console_token(_event: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /_local/console-token`` (local stack only, never deployed): an operator's token
    for the console's development sign-in, as Cognito's token endpoint would answer it."""
    body = {
        "access_token": issue_token(CONSOLE_CHANNEL, CONSOLE_SCOPES),
        "token_type": "Bearer",
        "expires_in": DEFAULT_TTL_SECONDS,
    }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(body),
        "isBase64Encoded": False,
    }
