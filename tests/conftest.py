from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import pytest_asyncio
from sanic import Sanic

from api.app import create_app
from config.settings import Settings
from core.clock import ManualClock
from models import MODEL_MODULES
from tests.support.asgi import AppClient
from tests.support.db import (
    DATABASE_PASS_ENV,
    database_for_test,
    database_url_for_tests,
    drop_templates,
    uses_test_database,
)
from tests.support.fake_wechat import FakeWeChat
from tests.support.world import JWT_SECRET, World, build_world

Sanic.test_mode = True
START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
SEEDED_WORLD = pytest.StashKey[World | None]()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def fake_wechat():
    fake = FakeWeChat().start()
    yield fake
    fake.stop()


@pytest.fixture
def settings(tmp_path, fake_wechat) -> Settings:
    return Settings(var_dir=tmp_path, jwt_secret=JWT_SECRET, wechat_api_base=fake_wechat.base_url,
                    wechat_appid="wx-test-appid", wechat_secret="test-wechat-secret", dev_login=True,
                    embedded_mqtt_port=free_port(), log_level="WARNING",
                    # Tests write to the database between requests as another process would, under a frozen
                    # clock: poll the change log before every cached read (tests/test_caches.py covers intervals).
                    cache_poll_seconds=0)


@pytest_asyncio.fixture
async def db(request: pytest.FixtureRequest, clock: ManualClock):
    """A database of the test's own; with the test world in it when the test (or a fixture of it) asks for
    ``world`` — copied from one built once per worker (tests/support/db.py)."""
    seed = None
    if "world" in request.fixturenames:
        now = clock.now()
        seed = (f"world@{now.isoformat()}", lambda: build_world(now))
    async with database_for_test(MODEL_MODULES, database_url_for_tests(), seed) as (ctx, handle):
        request.node.stash[SEEDED_WORLD] = handle
        yield ctx


@pytest.fixture
def app(settings, clock, db):
    return create_app(settings, clock=clock, manage_db=False)


@pytest.fixture
def client(app):
    return AppClient(app)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite database migrated by the real CLI for the whole run. Tortoise's migration engine takes 10–15 s on
    a fresh database; the CLI tests start from a copy of this one (their own ``migrate`` is then the no-op it is
    on a deployed system) and tests/test_migrations.py still applies every migration from scratch. Under
    pytest-xdist the workers share it: the first to get the lock migrates, the others wait and copy."""
    import fcntl

    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent  # the run's directory, above each worker's own
    var_dir = shared / "migrated"
    database = var_dir / "rentwatch.sqlite3"
    with open(shared / "migrated.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not database.exists():  # migrated aside and moved in whole: a failed migrate leaves nothing to copy
            work = shared / "migrating"
            shutil.rmtree(work, ignore_errors=True)
            env = {**os.environ, "RW_VAR_DIR": str(work), "RW_LOG_LEVEL": "WARNING"}
            env.pop("RW_DATABASE_URL", None)
            subprocess.run([sys.executable, "-m", "cli.main", "migrate"], env=env, check=True,
                           capture_output=True, timeout=600)
            var_dir.mkdir(exist_ok=True)
            os.replace(work / database.name, database)
    return database


@pytest.fixture
def premigrated(migrated_sqlite: Path) -> Callable[[Path], Path]:
    """``premigrated(var_dir)`` puts a copy of the migrated SQLite database where the CLI looks for it."""
    def copy_into(var_dir: Path) -> Path:
        var_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(migrated_sqlite, var_dir / migrated_sqlite.name)
        return var_dir

    return copy_into


@pytest_asyncio.fixture
async def world(db, clock, request: pytest.FixtureRequest):
    world = request.node.stash[SEEDED_WORLD]
    # The world's rows were written at the clock's time when the database was made; a fixture that moved the
    # clock in between would see them dated otherwise than a world built now.
    assert world.now == clock.now(), "the clock moved between the db and world fixtures"
    return world


_worker_broker: list = []


def pytest_configure(config: pytest.Config) -> None:
    _private_broker_per_worker()
    config.addinivalue_line("markers", "database: talks to the test database without the db fixture "
                            "(runs in the second database's pass too)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The second database's pass (scripts/test.sh) runs only what touches the database.

    A test that never reaches the database (pure rules, parsers, the broker, the browser-free pages) gives the same
    answer on SQLite and PostgreSQL; running it twice only costs time (make test's 20-minute budget).
    """
    if not os.environ.get(DATABASE_PASS_ENV):
        return
    keep = [item for item in items if uses_test_database(item)]
    dropped = [item for item in items if not uses_test_database(item)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    asyncio.run(drop_templates())


def pytest_unconfigure(config: pytest.Config) -> None:
    while _worker_broker:
        _worker_broker.pop().stop()


def _private_broker_per_worker() -> None:
    """Under pytest-xdist (scripts/test.sh runs two workers) each worker gets a Mosquitto of its own.

    The shared broker on 1883 would let one worker's consumer take another's messages or client id (the consumer's
    id is a setting, the same in every test); a private broker keeps the tests as isolated as in one process."""
    import tempfile

    from tests.support.mqtt import MOSQUITTO_BIN, PrivateMosquitto

    if not os.environ.get("PYTEST_XDIST_WORKER") or MOSQUITTO_BIN is None or os.environ.get("RW_TEST_MQTT_EMBEDDED"):
        return
    broker = PrivateMosquitto(Path(tempfile.mkdtemp(prefix="rw-mqtt-")))
    broker.start()
    _worker_broker.append(broker)
    os.environ["RW_TEST_MQTT_URL"] = broker.url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
