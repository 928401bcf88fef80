"""Personal data (PIPL): one set of masks; list responses mask phones, ID numbers and accounts; no log line
carries them (the record factory masks every record, whatever handler writes it)."""

from __future__ import annotations

import logging

import pytest

from core.pii import install_log_masking, mask_phone, mask_tail, mask_text


@pytest.mark.parametrize("text,expected", [
    ("tel 13812345678 ok", "tel 138****5678 ok"),
    ("+86 13812345678", "138****5678"),
    ("id 11010519491231002X end", "id **************002X end"),
    ("身份证110105194912310021,", "身份证**************0021,"),
    ("card 6225 8800 1234 5678", "card ************5678"),
    ("acct 6225880012345678901", "acct ***************8901"),
    ("order 2026110212 no", "order 2026110212 no"),          # 10 digits: not an account
    ("unit SZ-NS-A-1201", "unit SZ-NS-A-1201"),
    ("uuid 0b7c2f06-0000-4000-8000-000000000000", "uuid 0b7c2f06-0000-4000-8000-000000000000"),
    ("at 2026-11-02T02:00:00+00:00", "at 2026-11-02T02:00:00+00:00"),
    ("fee 900000 fen", "fee 900000 fen"),
])
def test_mask_text(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize("value,expected", [("13812345678", "138****5678"), ("075586001234", "075****1234"),
                                            ("123", "****"), (None, None)])
def test_mask_phone(value, expected):
    assert mask_phone(value) == expected


@pytest.mark.parametrize("value,expected", [("6225 8800 1234 5678", "************5678"),
                                            ("11010519491231002X", "**************002X"), ("", ""), (None, None)])
def test_mask_tail(value, expected):
    assert mask_tail(value) == expected


def test_no_log_record_carries_personal_data(caplog):
    install_log_masking()
    log = logging.getLogger("rentwatch.test.pii")
    with caplog.at_level(logging.INFO, logger="rentwatch.test.pii"):
        log.info("tenant 13812345678 paid into 6225 8800 1234 5678")
        log.info("binding %s with id %s", "13900001111", "11010519491231002X")
        log.warning("sms to %(phone)s", {"phone": "+8613700001111"})
        log.info("raw number %d", 13812345678)
    text = caplog.text
    for secret in ("13812345678", "6225 8800 1234 5678", "13900001111", "11010519491231002X", "13700001111"):
        assert secret not in text
    assert "138****5678" in text and "************5678" in text and "139****1111" in text
    assert "**************002X" in text and "137****1111" in text


async def test_lists_mask_phones(client, world):
    from models.accounts import User

    await User.filter(id=world.a.inspector.id).update(phone="13812345678")
    _, resp = await client.get("/api/v1/admin/users?page_size=200", headers=world.auth(world.admin))
    assert resp.status == 200
    phones = {u["id"]: u["phone"] for u in resp.json["items"]}
    assert phones[world.a.inspector.id] == "138****5678"
    _, leases = await client.get("/api/v1/leases", headers=world.auth(world.admin))
    assert leases.status == 200 and "13800000000" not in leases.text  # the world's tenants' phone
