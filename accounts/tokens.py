"""Signed JWTs for API access. A token names the user and its token_version (bump it to revoke)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any

import jwt

from core.errors import Unauthorized

ALGORITHM = "HS256"


def issue_token(*, secret: str, subject: str, kind: str, now: datetime, ttl_seconds: int,
                extra: dict[str, Any] | None = None) -> str:
    claims = {"sub": subject, "kind": kind, "iat": int(now.timestamp()),
              "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()), **(extra or {})}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


@lru_cache(maxsize=8192)
def _signed_claims(token: str, secret: str) -> Mapping[str, Any]:
    """The claims of ``token`` once its signature under ``secret`` is verified: a pure function of the two, kept
    for the tokens seen lately (a forged or malformed token raises and is never kept). A caller's every request
    then costs no HMAC and no base64/JSON decoding; the times, the kind and the account are still checked on each."""
    # Time claims are checked by decode_token against the injected clock, not PyJWT's wall clock.
    return MappingProxyType(jwt.decode(token, secret, algorithms=[ALGORITHM],
                                       options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                                "require": ["sub", "exp", "iat"]}))


def decode_token(token: str, *, secret: str, now: datetime, expected_kind: str) -> dict[str, Any]:
    try:
        claims = dict(_signed_claims(token, secret))
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}", code="INVALID_TOKEN") from None
    if not isinstance(claims["exp"], int) or not isinstance(claims["iat"], int):
        raise Unauthorized("invalid token times", code="INVALID_TOKEN")
    if claims["exp"] <= int(now.timestamp()):
        raise Unauthorized("token has expired", code="TOKEN_EXPIRED")
    if claims["iat"] > int(now.timestamp()) + 60:
        raise Unauthorized("token issued in the future", code="INVALID_TOKEN")
    if claims.get("kind") != expected_kind:
        raise Unauthorized("token is not valid for this use", code="INVALID_TOKEN")
    return claims
