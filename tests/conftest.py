from __future__ import annotations

import socket
from datetime import UTC, datetime

import pytest
import pytest_asyncio
from sanic import Sanic
from tortoise.contrib.test import tortoise_test_context

from api.app import create_app
from audit.service import install_triggers as install_audit_triggers
from config.settings import Settings
from core.changes import install_change_triggers
from core.clock import ManualClock
from models import MODEL_MODULES
from tests.support.asgi import AppClient
from tests.support.db import database_url_for_tests
from tests.support.fake_wechat import FakeWeChat
from tests.support.world import JWT_SECRET, build_world

Sanic.test_mode = True
START = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai


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
async def db():
    async with tortoise_test_context(MODEL_MODULES, db_url=database_url_for_tests()) as ctx:
        await install_change_triggers()  # what migration 0002 does; the test context builds tables directly
        await install_audit_triggers()  # migration 0011: audit_events refuses UPDATE and DELETE
        yield ctx


@pytest.fixture
def app(settings, clock, db):
    return create_app(settings, clock=clock, manage_db=False)


@pytest.fixture
def client(app):
    return AppClient(app)


@pytest_asyncio.fixture
async def world(db, clock):
    return await build_world(clock.now())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
