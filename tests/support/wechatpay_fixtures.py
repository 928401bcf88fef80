"""What the tests against the fake WeChat Pay (tests/support/fake_wechatpay.py) share: the fake on loopback as a
fixture, the app's settings pointed at it, and a signed notification delivered to one of our notify routes.

A test module imports the fixture by its function name (``from tests.support.wechatpay_fixtures import
fake_pay_fixture``); pytest knows it as ``fake_pay``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from config.settings import Settings
from tests.support.fake_wechatpay import FakeWeChatPay

PAY_NOTIFY = "/api/v1/payments/wechat/notify"
TRANSFER_NOTIFY = "/api/v1/payments/wechat/transfer-notify"


@pytest.fixture(name="fake_pay")
def fake_pay_fixture() -> Iterator[FakeWeChatPay]:
    fake = FakeWeChatPay().start()
    yield fake
    fake.stop()


def pay_settings(settings: Settings, fake: FakeWeChatPay, **extra: Any) -> Settings:
    """The test settings with WeChat Pay configured against ``fake`` (and ``extra`` on top)."""
    return settings.model_copy(update={**fake.settings_overrides(), **extra})


async def deliver_notification(client, fake: FakeWeChatPay, clock, path: str, resource: dict, **kwargs):
    """POST to ``path`` the notification of ``resource`` as WeChat Pay sends it, signed now by the test clock;
    ``kwargs`` go to ``FakeWeChatPay.notification`` (event type, a forged key, ...). The response."""
    headers, body = fake.notification(resource, timestamp=int(clock.now().timestamp()), **kwargs)
    _, response = await client.post(path, headers=headers, content=body)
    return response
