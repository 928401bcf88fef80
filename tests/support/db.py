"""Which real database the tests use: in-memory SQLite by default, PostgreSQL when
RW_TEST_DATABASE_URL points at one (``{}`` in the name is replaced by a fresh database per test)."""

from __future__ import annotations

import os
from typing import Any

import core.db  # noqa: F401 - registers the SQLite engine the app uses (core.sqlite_engine)

DEFAULT_TEST_DB = "sqlite://:memory:"
#: Set by scripts/test.sh for the PostgreSQL pass: only tests that touch the database run again there.
DATABASE_PASS_ENV = "RW_TEST_DATABASE_ONLY"


def database_url_for_tests() -> str:
    return os.environ.get("RW_TEST_DATABASE_URL", DEFAULT_TEST_DB)


def on_postgres() -> bool:
    return database_url_for_tests().startswith(("postgres://", "postgresql://", "asyncpg://"))


def uses_test_database(item: Any) -> bool:
    """Whether a collected test reaches the test database: through the ``db`` fixture (directly or via ``app``,
    ``client``, ``world`` …) or, marked ``@pytest.mark.database``, by handing the test URL to a subprocess."""
    return "db" in getattr(item, "fixturenames", ()) or item.get_closest_marker("database") is not None
