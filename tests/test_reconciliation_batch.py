"""Reconciliation stores its decisions in batches: the outcome of each line is the per-line path's. A line whose
payment's external reference is already taken loses only itself (no second payment, nothing allocated by it);
a receivable changed by someone else while a batch writes sends that batch line by line (PostgreSQL: a real
second transaction); a re-run changes nothing."""

import asyncio

import pytest

from leasing.choices import PaymentMethod
from leasing.ledger import record_payment
from leasing.payment_codes import payment_code
from models.leasing import Payment, PaymentAllocation, Receivable
from models.reconciliation import ReconciliationMatch, StatementLine
from reconciliation.demo import Row, bank_csv
from reconciliation.service import DEFAULT_CONFIG, import_statement, reconcile


async def open_rents(lease_id: int, n: int) -> list[Receivable]:
    return list(await Receivable.filter(lease_id=lease_id, charge="RENT", status="OPEN", amount_fen__gt=0)
                .order_by("period_start").limit(n))


def statement(rows: list[Receivable], at, prefix: str) -> bytes:
    text = bank_csv([Row(at.replace(tzinfo=None), r.amount_fen - r.paid_fen, "某某", "", f"房租 {payment_code(r.id)}",
                         f"{prefix}{k:04d}") for k, r in enumerate(rows, 1)])
    return text.encode("gbk")


async def ledger_state(lease_id: int):
    return (sorted(await Receivable.filter(lease_id=lease_id).values_list("id", "paid_fen", "status")),
            sorted(await Payment.filter(lease_id=lease_id).values_list("id", "amount_fen", "unallocated_fen")),
            await PaymentAllocation.all().count(), await ReconciliationMatch.all().count())


async def test_a_taken_external_ref_loses_only_its_line(world, clock):
    a = world.a
    first, second, third, other = await open_rents(a.lease.id, 4)
    taken = await record_payment(lease_id=a.lease.id, amount_fen=1000, paid_at=clock.now(), now=clock.now(),
                                 method=PaymentMethod.BANK_TRANSFER, source="BANK_STATEMENT",
                                 external_ref="bank:BAT0002", receivable_id=other.id)
    result = await import_statement(statement([first, second, third], clock.now(), "BAT"), filename="s.csv",
                                    now=clock.now(), building_id=a.building.id)
    assert result["reconcile"]["applied"] == 3, result
    assert [(await Receivable.get(id=r.id)).status for r in (first, second, third)] == ["PAID", "OPEN", "PAID"]
    assert await Payment.filter(external_ref="bank:BAT0002").count() == 1
    line = await StatementLine.get(serial="BAT0002")
    match = await ReconciliationMatch.get(line_id=line.id)
    assert (match.payment_id, match.details["ledger_allocations"]) == (taken.payment.id, [])
    assert await PaymentAllocation.filter(payment_id=taken.payment.id).values_list("receivable_id", flat=True) == [
        other.id]
    for serial in ("BAT0001", "BAT0003"):
        line = await StatementLine.get(serial=serial)
        payment = await Payment.get(external_ref=f"bank:{serial}")
        assert line.status == "MATCHED" and line.allocated_fen == line.amount_fen == payment.amount_fen
        assert payment.unallocated_fen == 0
    before = await ledger_state(a.lease.id)
    again = await reconcile(now=clock.now(), cfg=DEFAULT_CONFIG)
    assert again["applied"] == 0
    assert await ledger_state(a.lease.id) == before


async def test_a_receivable_changed_under_a_batch_sends_the_batch_line_by_line(world, clock):
    """PostgreSQL only (SQLite has one writer): another transaction pays part of a receivable and holds its row
    while the batch writes; once it commits, the batch's conditional update misses that row, the batch rolls
    back and its lines go one by one: every line applied, nothing allocated above what was open."""
    from tortoise import connections
    from tortoise.transactions import in_transaction

    from core.sql import is_postgres

    if not is_postgres(connections.get("default")):
        pytest.skip("PostgreSQL only: SQLite has one writer")
    a = world.a
    rows = await open_rents(a.lease.id, 3)
    changed = rows[1]
    data = statement(rows, clock.now(), "CON")
    release = asyncio.Event()
    holding = asyncio.Event()

    async def other_writer() -> None:
        async with in_transaction() as conn:
            await conn.execute_query("UPDATE receivables SET paid_fen = paid_fen + 500, status = 'PARTIAL' "
                                     "WHERE id = $1", [changed.id])
            holding.set()
            await release.wait()

    writer = asyncio.create_task(other_writer())
    await holding.wait()
    importing = asyncio.create_task(import_statement(data, filename="c.csv", now=clock.now(),
                                                     building_id=a.building.id))
    probe = connections.get("default")
    while True:  # until the batch waits for the other writer's row lock
        _, waiting = await probe.execute_query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND datname = current_database() AND pid <> pg_backend_pid()")
        if waiting[0]["n"] or importing.done():
            break
        await asyncio.sleep(0.01)
    release.set()
    await writer
    result = await importing
    assert result["reconcile"]["applied"] == 3, result
    after = await Receivable.get(id=changed.id)
    assert after.paid_fen == after.amount_fen and after.status == "PAID"  # the line paid what was still open
    line = await StatementLine.get(serial="CON0002")
    payment = await Payment.get(external_ref="bank:CON0002")
    assert line.status == "MATCHED" and payment.amount_fen == line.amount_fen
    assert sum(await PaymentAllocation.filter(payment_id=payment.id).values_list("amount_fen", flat=True)) + \
        payment.unallocated_fen == line.amount_fen
    for amount, paid in await Receivable.filter(lease_id=a.lease.id).values_list("amount_fen", "paid_fen"):
        assert paid <= amount  # the 500 paid meanwhile is never paid twice: it went on to the next open item
