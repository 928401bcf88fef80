"""Pure rules of WeChat Pay orders and the production refusal of placeholder merchant secrets (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from config.settings import Settings, SettingsError
from core.errors import NotFound, ValidationFailed
from payments import rules

OPEN = frozenset({"OPEN", "PARTIAL"})
NOW = datetime(2026, 11, 2, 2, 0, tzinfo=UTC)


def row(id, tenant=1, status="OPEN", amount=1000, paid=0, in_force=True, lease=10):
    return rules.OpenRow(id=id, tenant_id=tenant, lease_id=lease, building_id=5, status=status, amount_fen=amount,
                         paid_fen=paid, in_force=in_force, label="租金")


@pytest.mark.parametrize(("rows", "wanted", "amounts"), [
    ([row(1), row(2, amount=2500)], [2, 1], [1000, 2500]),  # sorted by id; amounts from the rows
    ([row(1, status="PARTIAL", paid=400)], [1, 1], [600]),  # what is still open; duplicates collapse
])
def test_order_items_take_amounts_from_the_server(rows, wanted, amounts):
    items = rules.order_items(rows, wanted, 1, OPEN)
    assert [i.amount_fen for i in items] == amounts
    assert rules.order_total(items) == sum(amounts)


@pytest.mark.parametrize(("rows", "wanted", "error", "code"), [
    ([row(1, tenant=2)], [1], NotFound, "RECEIVABLE_NOT_FOUND"),  # another tenant's: not found
    ([], [7], NotFound, "RECEIVABLE_NOT_FOUND"),
    ([row(1, status="PAID", paid=1000)], [1], ValidationFailed, "RECEIVABLE_NOT_OPEN"),
    ([row(1, status="WAIVED")], [1], ValidationFailed, "RECEIVABLE_NOT_OPEN"),
    ([row(1, in_force=False)], [1], ValidationFailed, "RECEIVABLE_NOT_OPEN"),  # superseded
    ([], [], ValidationFailed, "VALIDATION_ERROR"),
    ([], list(range(rules.MAX_ITEMS + 1)), ValidationFailed, "VALIDATION_ERROR"),
])
def test_order_items_refuse(rows, wanted, error, code):
    with pytest.raises(error) as caught:
        rules.order_items(rows, wanted, 1, OPEN)
    assert caught.value.code == code


def test_out_trade_no_is_derived_and_changes_with_the_amounts():
    a = rules.order_items([row(1), row(2)], [1, 2], 1, OPEN)
    b = rules.order_items([row(2), row(1)], [2, 1], 1, OPEN)
    partial = rules.order_items([row(1, status="PARTIAL", paid=1), row(2)], [1, 2], 1, OPEN)
    assert rules.order_key(1, a) == rules.order_key(1, b)
    assert rules.order_key(1, a) != rules.order_key(1, partial) != rules.order_key(2, a)
    no = rules.out_trade_no(rules.order_key(1, a), 999)
    assert len(no) <= 32 and no.replace("-", "").isalnum()


@pytest.mark.parametrize(("status", "minutes", "reusable"), [
    ("CREATED", 30, True), ("CREATED", 1, False), ("CLOSED", 30, False), ("PAID", 30, False)])
def test_reuse(status, minutes, reusable):
    assert rules.reusable(status, NOW + timedelta(minutes=minutes), NOW) is reusable


@pytest.mark.parametrize(("resource", "ours", "amount_ok"), [
    ({"mchid": "19", "appid": "wx1", "amount": {"total": 500, "currency": "CNY"}}, True, True),
    ({"mchid": "19", "appid": "wx1", "amount": {"total": 499}}, True, False),
    ({"mchid": "19", "appid": "wx1", "amount": {"total": "500"}}, True, False),  # not an integer
    ({"mchid": "19", "appid": "wx1", "amount": {"total": 500, "currency": "USD"}}, True, False),
    ({"mchid": "20", "appid": "wx1", "amount": {"total": 500}}, False, True),
    ({"mchid": "19", "appid": "wx2", "amount": {"total": 500}}, False, True),
])
def test_check_paid(resource, ours, amount_ok):
    check = rules.check_paid(resource, mchid="19", appid="wx1", expected_fen=500)
    assert (check.ours, check.amount_ok) == (ours, amount_ok)


def test_success_time():
    assert rules.parse_success_time("2026-11-02T10:00:05+08:00", NOW) == datetime(2026, 11, 2, 2, 0, 5, tzinfo=UTC)
    assert rules.parse_success_time("yesterday", NOW) == NOW
    assert rules.parse_success_time("2026-11-02T10:00:05", NOW) == NOW  # no offset: not trusted


GOOD = {"jwt_secret": "j" * 40, "qr_secret": "q" * 40, "wechat_secret": "w" * 32, "party_id_salt": "s" * 40,
        "wechat_appid": "wx1234567890abcdef", "mqtt_password": "m" * 32, "mode": "production"}
MERCHANT = {"wechatpay_mchid": "1900000109", "wechatpay_cert_serial_no": "5157F09EFDC096DE15EBE81A47057A72",
            "wechatpay_private_key": "-----BEGIN PRIVATE KEY-----…",
            "wechatpay_apiv3_key": "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6",
            "wechatpay_public_key": "-----BEGIN PUBLIC KEY-----…", "wechatpay_public_key_id": "PUB_KEY_ID_0119",
            "wechatpay_api_base": "https://api.mch.weixin.qq.com"}


@pytest.mark.parametrize(("override", "refused"), [
    ({}, None),
    ({"wechatpay_apiv3_key": "change-me"}, "RW_WECHATPAY_APIV3_KEY"),
    ({"wechatpay_apiv3_key": "0" * 32}, "RW_WECHATPAY_APIV3_KEY"),
    ({"wechatpay_cert_serial_no": "placeholder"}, "RW_WECHATPAY_CERT_SERIAL_NO"),
    ({"wechatpay_private_key": ""}, "RW_WECHATPAY_PRIVATE_KEY"),
    ({"wechatpay_public_key_id": "test"}, "RW_WECHATPAY_PUBLIC_KEY"),
    ({"wechatpay_api_base": "http://127.0.0.1:9"}, "RW_WECHATPAY_API_BASE"),
])
def test_production_refuses_placeholder_merchant_secrets(override, refused):
    settings = Settings(**GOOD, **{**MERCHANT, **override})
    if refused is None:
        settings.check_secrets()
        return
    with pytest.raises(SettingsError, match=refused):
        settings.check_secrets()


def test_payments_off_without_a_merchant_id():
    settings = Settings(**GOOD)
    settings.check_secrets()
    assert not settings.wechatpay_enabled
