"""Which real database the tests use: in-memory SQLite by default, PostgreSQL when
RW_TEST_DATABASE_URL points at one (``{}`` in the name is replaced by a fresh database per test)."""

from __future__ import annotations

import os

DEFAULT_TEST_DB = "sqlite://:memory:"


def test_db_url() -> str:
    return os.environ.get("RW_TEST_DATABASE_URL", DEFAULT_TEST_DB)


def on_postgres() -> bool:
    return test_db_url().startswith(("postgres://", "postgresql://", "asyncpg://"))
