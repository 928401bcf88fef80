"""Statement imports on a real database: lines stored once (an overlapping re-import adds nothing), an unknown
layout refused whole (nothing stored, a staff alert through the outbox, the feed's last good data marked stale)."""

from datetime import datetime, timedelta

import pytest

from models.alerts import Alert
from models.notifications import OutboxMessage
from models.reconciliation import StatementImport, StatementLine
from reconciliation.demo import BANK_HEADER, Row, bank_csv, wechat_bill
from reconciliation.reader import StatementRefused
from reconciliation.service import ReconciliationConfig, feed_status, import_statement

DAY = datetime(2026, 10, 20, 9, 0)


def rows(n, start=0, serials=True):
    return [Row(DAY + timedelta(days=i), 10000 + i, f"陌生人{i}", "", f"杂项{i}", f"S{i:05d}" if serials else "")
            for i in range(start, start + n)]


def ours():
    """Lines of these tests (the world has its own, for the route scope test)."""
    return StatementLine.exclude(dedupe_key__startswith="world:")


@pytest.fixture
def cfg(settings):
    return ReconciliationConfig.from_settings(settings)


@pytest.mark.parametrize("serials", [True, False])
async def test_reimporting_an_overlapping_export_adds_no_line(world, clock, cfg, serials):
    building = world.a.building.id
    first = await import_statement(bank_csv(rows(6, serials=serials)).encode("gbk"), filename="oct.csv", cfg=cfg,
                                   now=clock.now(), building_id=building, actor_id=world.a.finance.id)
    assert (first["lines_read"], first["lines_new"], first["lines_duplicate"]) == (6, 6, 0)
    # the next export overlaps the first by four lines (same balances: the account's history is the same)
    overlapping = bank_csv(rows(6, serials=serials) + rows(3, start=6, serials=serials))
    second = await import_statement(overlapping.encode("utf-16"), filename="oct-nov.csv", cfg=cfg, now=clock.now(),
                                    building_id=building)
    assert (second["lines_read"], second["lines_new"], second["lines_duplicate"]) == (9, 3, 6)
    again = await import_statement(overlapping.encode(), filename="again.csv", cfg=cfg, now=clock.now(),
                                   building_id=building)
    assert (again["lines_new"], again["lines_duplicate"]) == (0, 9)
    assert await ours().count() == 9
    amounts = sorted(await ours().values_list("amount_fen", flat=True))
    assert amounts == [10000 + i for i in range(9)]


async def test_a_wechat_bill_keeps_a_payment_and_its_refund_and_reimports_idempotently(world, clock, cfg):
    paid = "4200009876202611060001"
    day = [(DAY, paid, "RWBILLREF-1", "SUCCESS", 500000, "押金"),
           (DAY + timedelta(hours=3), paid, "RWBILLREF-1", "REFUND", 200000, "押金退还", "50300098762026110600001")]
    first = await import_statement(wechat_bill(day).encode(), filename="wx-1.csv", cfg=cfg, now=clock.now())
    assert (first["lines_read"], first["lines_new"], first["lines_duplicate"]) == (2, 2, 0)
    later = day + [(DAY + timedelta(days=1), paid, "RWBILLREF-1", "REFUND", 100000, "押金退还",
                    "50300098762026110700002")]
    second = await import_statement(wechat_bill(later).encode(), filename="wx-2.csv", cfg=cfg, now=clock.now())
    assert (second["lines_read"], second["lines_new"], second["lines_duplicate"]) == (3, 1, 2)
    again = await import_statement(wechat_bill(later).encode(), filename="wx-3.csv", cfg=cfg, now=clock.now())
    assert (again["lines_new"], again["lines_duplicate"]) == (0, 3)
    stored = await ours().filter(serial=paid).order_by("booked_at").values_list("direction", "amount_fen", "status")
    assert stored == [("IN", 500000, "UNMATCHED"), ("OUT", 200000, "EXPENSE"), ("OUT", 100000, "EXPENSE")]


async def test_unknown_layout_is_refused_whole_alerts_staff_and_marks_the_feed_stale(world, clock, cfg):
    building = world.a.building.id
    good = await import_statement(bank_csv(rows(2)).encode(), filename="good.csv", cfg=cfg, now=clock.now(),
                                  building_id=building)
    assert (await feed_status(building))["stale"] is False
    await OutboxMessage.all().delete()
    changed = tuple("对方账户名" if h == "对方户名" else h for h in BANK_HEADER if h != "余额") + ("交易对手行号",)
    clock.advance(timedelta(hours=1))
    with pytest.raises(StatementRefused) as refused:
        await import_statement(bank_csv(rows(5, start=10), header=changed).encode(), filename="changed.csv", cfg=cfg,
                               now=clock.now(), building_id=building, actor_id=world.a.finance.id)
    details = refused.value.details
    assert refused.value.code == "UNKNOWN_STATEMENT_FORMAT"
    assert (details["missing_columns"], details["unexpected_columns"]) == (["余额"], ["交易对手行号"])
    assert details["closest_format"] == "cn_bank@1"
    assert await ours().count() == 2  # nothing of the refused file
    record = await StatementImport.get(status="REFUSED")
    assert record.error_code == "UNKNOWN_STATEMENT_FORMAT" and record.error_details["missing_columns"] == ["余额"]
    alert = await Alert.get(type="STATEMENT_IMPORT_REFUSED")
    assert alert.building_id == building and "changed.csv" in alert.explanation
    told = sorted(await OutboxMessage.filter(kind="STATEMENT_REFUSED").values_list("user_id", flat=True))
    assert told == sorted([world.a.finance.id, world.a.manager.id])
    feed = await feed_status(building)
    assert feed["stale"] is True and feed["last_good_import_id"] == good["import_id"]
    assert feed["last_error_code"] == "UNKNOWN_STATEMENT_FORMAT"
    clock.advance(timedelta(hours=1))
    await import_statement(bank_csv(rows(3)).encode(), filename="fixed.csv", cfg=cfg, now=clock.now(),
                           building_id=building)
    assert (await feed_status(building))["stale"] is False


async def test_a_bad_amount_refuses_the_whole_file(world, clock, cfg):
    text = bank_csv(rows(4)).replace("100.02", "100.025")
    with pytest.raises(StatementRefused) as refused:
        await import_statement(text.encode(), filename="bad.csv", cfg=cfg, now=clock.now())
    assert refused.value.code == "INVALID_STATEMENT_LINE"
    assert await ours().count() == 0
    assert (await feed_status(None))["stale"] is True


async def test_a_line_stored_meanwhile_fails_the_bulk_insert_whole(world, clock, cfg):
    """What an import racing another one over the same lines meets after its duplicate check: the bulk insert
    (a COPY on PostgreSQL, falling back to a plain INSERT) raises IntegrityError and stores none of its rows, so
    the import is refused as STATEMENT_IMPORT_RACE and can simply be run again."""
    from tortoise.exceptions import IntegrityError
    from tortoise.transactions import in_transaction

    from reconciliation.service import LINE_JSON, _insert_lines

    await import_statement(bank_csv(rows(1)).encode("gbk"), filename="one.csv", cfg=cfg, now=clock.now())
    line = await ours().get()
    empty = LINE_JSON.to_db_value({}, StatementLine)

    def row(key: str, serial: str) -> tuple:
        return (line.statement_import_id, None, "BANK", line.format_name, key, serial, 9, line.booked_at, "IN", 100,
                None, "某人", "", "", empty, "UNMATCHED", 0, empty, clock.now(), clock.now())

    with pytest.raises(IntegrityError):
        async with in_transaction() as conn:
            await _insert_lines(conn, [row("race:new", "R1"), row(line.dedupe_key, "R2")])
    assert await ours().count() == 1
    async with in_transaction() as conn:  # the same rows without the taken key go in
        await _insert_lines(conn, [row("race:new", "R1")])
    assert await ours().filter(dedupe_key="race:new").count() == 1
