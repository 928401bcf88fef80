"""Signed JWTs for API access. A token names the user and its token_version (bump it to revoke)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import jwt

from core.errors import Unauthorized

ALGORITHM = "HS256"


def issue_token(*, secret: str, subject: str, kind: str, now: datetime, ttl_seconds: int,
                extra: dict[str, Any] | None = None) -> str:
    claims = {"sub": subject, "kind": kind, "iat": int(now.timestamp()),
              "exp": int((now + timedelta(seconds=ttl_seconds)).timestamp()), **(extra or {})}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def decode_token(token: str, *, secret: str, now: datetime, expected_kind: str) -> dict[str, Any]:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"verify_exp": False,
                                                                              "require": ["sub", "exp"]})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}", code="INVALID_TOKEN") from None
    if claims["exp"] <= int(now.timestamp()):
        raise Unauthorized("token has expired", code="TOKEN_EXPIRED")
    if claims.get("kind") != expected_kind:
        raise Unauthorized("token is not valid for this use", code="INVALID_TOKEN")
    return claims
