"""Which real database the tests use: in-memory SQLite by default, PostgreSQL when
RW_TEST_DATABASE_URL points at one (``{}`` in the name is replaced by a fresh database per test)."""

from __future__ import annotations

import os

import core.db  # noqa: F401 - registers the SQLite engine the app uses (core.sqlite_engine)

DEFAULT_TEST_DB = "sqlite://:memory:"


def database_url_for_tests() -> str:
    return os.environ.get("RW_TEST_DATABASE_URL", DEFAULT_TEST_DB)


def on_postgres() -> bool:
    return database_url_for_tests().startswith(("postgres://", "postgresql://", "asyncpg://"))
