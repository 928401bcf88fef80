"""Staff passwords for the console: argon2id hashes (argon2-cffi) and the lock-out rule.

The lock-out is pure (``lockout_after_failure``): after ``max_failures`` consecutive failures the account is locked
for ``lock_minutes``; each further failure while locked does not extend it (so an attacker cannot keep a victim
locked forever by guessing), a success resets the count. Table-tested in tests/test_console_auth.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD_LENGTH = 10
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def password_problem(password: str) -> str | None:
    """Why a new password is refused, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"密码至少 {MIN_PASSWORD_LENGTH} 位"
    if len(password) > 128:
        return "密码不能超过 128 位"
    if len(set(password)) < 4:
        return "密码过于简单"
    return None


@dataclass(frozen=True)
class LockoutPolicy:
    max_failures: int = 5
    lock_minutes: int = 15


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


def lockout_after_failure(failed_logins: int, locked_until: datetime | None, now: datetime,
                          policy: LockoutPolicy) -> tuple[int, datetime | None]:
    """(new failure count, new locked_until) after one more failed attempt."""
    if is_locked(locked_until, now):
        return failed_logins, locked_until
    failures = failed_logins + 1
    if failures >= policy.max_failures:
        return 0, now + timedelta(minutes=policy.lock_minutes)
    return failures, None
