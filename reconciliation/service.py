"""Statement imports and reconciliation against the ledger. Owns the transactions; the rules are pure
(reconciliation.reader, reconciliation.matching).

* ``import_statement``: read the whole file or refuse it whole (recorded, alerted, the feed marked stale), store
  only lines not seen before (by serial or fingerprint), then reconcile them.
* ``reconcile``: decide every unmatched income line (the index is built once per run), store proposals and
  discrepancies, apply the decisions at or above the threshold through ``leasing.ledger.record_payment``.
* ``scan_paid_without_line``: payments recorded by hand as bank transfers inside the statements' period that no
  line confirms."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from tortoise import timezone
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from accounts.choices import Role, StaffDuty
from alerts.choices import AlertSeverity
from alerts.service import raise_alert
from audit.choices import AuditAction
from audit.service import Target, record
from config.settings import Settings
from core import sql
from core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from core.sql import names
from leasing.choices import (
    LIVE_LEASE_STATUSES,
    OPEN_RECEIVABLE_STATUSES,
    ChargeType,
    PaymentMethod,
    PaymentSource,
    ReceivableStatus,
)
from leasing.ledger import hold_deposit, record_payment, reverse_payment, staff_of
from leasing.payment_codes import codes_in
from leasing.rules import OpenItem, allocate, stored_status
from models.accounts import User
from models.leasing import Lease, Payment, PaymentAllocation, Receivable, Tenant
from models.portfolio import Unit
from models.reconciliation import Discrepancy, ReconciliationMatch, StatementFeed, StatementImport, StatementLine
from notifications.choices import NotificationKind
from notifications.outbox import enqueue_notification
from reconciliation.choices import (
    ALERT_STATEMENT_REFUSED,
    Direction,
    DiscrepancyKind,
    DiscrepancyStatus,
    ImportStatus,
    LineStatus,
    MatchRule,
    MatchStatus,
    StatementSource,
)
from reconciliation.formats import StatementFormat, registry
from reconciliation.matching import (
    BankLine,
    Decision,
    Finding,
    Index,
    Matcher,
    OpenReceivable,
    PaidReceivable,
    Party,
    RecordedPayment,
    fen,
)
from reconciliation.reader import ParsedStatement, StatementRefused, dedupe_key_for, read_statement

log = logging.getLogger("rentwatch.reconciliation")

PRIORITY = {ChargeType.DEPOSIT: 0, ChargeType.RENT: 1}
#: how a statement's money enters the ledger, per source
LEDGER_SOURCE = {StatementSource.BANK: (PaymentMethod.BANK_TRANSFER, PaymentSource.BANK_STATEMENT),
                 StatementSource.WECHAT_PAY: (PaymentMethod.WECHAT_PAY, PaymentSource.WECHAT_PAY),
                 StatementSource.ALIPAY: (PaymentMethod.ALIPAY, PaymentSource.ALIPAY)}
REF_PREFIX = {StatementSource.BANK: "bank", StatementSource.WECHAT_PAY: "wechat", StatementSource.ALIPAY: "alipay"}
#: payments that claim money arrived through a channel a statement covers, entered by a person
HAND_SOURCES = (PaymentSource.MANUAL, PaymentSource.IMPORT)
CHANNEL_METHOD = {StatementSource.BANK: PaymentMethod.BANK_TRANSFER,
                  StatementSource.WECHAT_PAY: PaymentMethod.WECHAT_PAY, StatementSource.ALIPAY: PaymentMethod.ALIPAY}
SYSTEM = "reconciliation"
#: a line's record of a person's decision against a match (kept when the line is matched again, which is then
#: only proposed, never applied automatically)
PERSON_DECIDED = ("rejected", "reversed")


@dataclass(frozen=True)
class ReconciliationConfig:
    formats: dict[str, StatementFormat]
    auto_apply_confidence: int = 90
    min_name_score: int = 85
    paid_check_days: int = 3
    timezone: str = "Asia/Shanghai"

    @classmethod
    def from_settings(cls, settings: Settings) -> ReconciliationConfig:
        return cls(formats=registry(settings.statement_formats),
                   auto_apply_confidence=settings.reconcile_auto_apply_confidence,
                   min_name_score=settings.reconcile_name_min_score,
                   paid_check_days=settings.reconcile_paid_check_days, timezone=settings.business_timezone)


DEFAULT_CONFIG = ReconciliationConfig(formats=registry())


def feed_key(building_id: int | None) -> str:
    return f"building:{building_id}" if building_id else "portfolio"


# --------------------------------------------------------------------------------------------- import


async def import_statement(data: bytes, *, filename: str, now: datetime, cfg: ReconciliationConfig = DEFAULT_CONFIG,
                           wanted: str | None = None, building_id: int | None = None,
                           actor_id: int | None = None) -> dict[str, Any]:
    """Read and store a statement, then reconcile its new lines. Refusals raise StatementRefused (422) after
    recording the refusal, raising a staff alert and marking the feed's last good data stale."""
    digest = hashlib.sha256(data).hexdigest()
    try:
        parsed = read_statement(data, formats=cfg.formats, filename=filename, wanted=wanted, timezone=cfg.timezone)
    except StatementRefused as exc:
        await _refused(exc, filename=filename, digest=digest, building_id=building_id, actor_id=actor_id, now=now)
        raise
    keys = [dedupe_key_for(parsed.format, line) for line in parsed.lines]
    t = names(StatementLine)
    existing: set[str] = set()
    for start in range(0, len(keys), ID_CHUNK):
        part = keys[start:start + ID_CHUNK]
        existing |= {row[0] for row in await sql.execute(
            StatementLine._meta.db, f"SELECT {t.dedupe_key} FROM {t} WHERE {t.dedupe_key} IN ({sql.marks(len(part))})",
            part)}
    fresh, seen = [], set()
    for line, key in zip(parsed.lines, keys, strict=True):
        if key in existing or key in seen:
            continue
        seen.add(key)
        fresh.append((line, key))
    fmt = parsed.format
    try:
        async with in_transaction() as conn:
            record = await StatementImport.create(
                format_name=fmt.name, format_version=fmt.version, source=fmt.source, filename=filename[:200],
                sha256=digest, building_id=building_id, status=ImportStatus.APPLIED, imported_by_id=actor_id,
                imported_at=now, lines_read=len(parsed.lines), lines_new=len(fresh),
                lines_duplicate=len(parsed.lines) - len(fresh),
                summary={"encoding": parsed.encoding, "skipped_rows": parsed.skipped_rows[:200]})
            stamp = timezone.localtime()  # created/updated as the ORM stamps them
            encode = LINE_JSON.to_db_value
            empty, row_json = encode({}, StatementLine), StatementLine._meta.fields_map["source_row"].to_db_value
            await _insert_lines(conn, [
                (record.id, building_id, str(fmt.source), fmt.key, key, line.serial, line.row_number, line.booked_at,
                 str(line.direction), line.amount_fen, line.balance_fen, line.counterparty_name,
                 line.counterparty_account, line.reference, row_json(line.source_row, StatementLine),
                 str(LineStatus.UNMATCHED if line.direction == Direction.IN else LineStatus.EXPENSE), 0, empty,
                 stamp, stamp)
                for line, key in fresh])
            await _feed_good(building_id, record, now)
    except IntegrityError:
        raise Conflict("another import of overlapping lines ran at the same time: import again (it adds only what "
                       "is new)", code="STATEMENT_IMPORT_RACE") from None
    new_ids = [row[0] for row in await sql.execute(
        StatementLine._meta.db, f"SELECT {t.id} FROM {t} WHERE {t.statement_import} = ? AND {t.direction} = ?",
        [record.id, str(Direction.IN)])]
    result = await reconcile(now=now, cfg=cfg, line_ids=new_ids)
    result["paid_without_bank_line"] = await scan_paid_without_line(now=now, cfg=cfg)
    await StatementImport.filter(id=record.id).update(summary={**record.summary, "reconcile": result})
    return {"import_id": record.id, "format": fmt.key, "source": str(fmt.source), "encoding": parsed.encoding,
            "lines_read": len(parsed.lines), "lines_new": len(fresh), "lines_duplicate": len(parsed.lines) - len(fresh),
            "skipped_rows": parsed.skipped_rows, "reconcile": result}


#: the columns of a new statement line, in the order ``_insert_lines`` takes them
LINE_COLUMNS = ("statement_import_id", "building_id", "source", "format_name", "dedupe_key", "serial", "row_number",
                "booked_at", "direction", "amount_fen", "balance_fen", "counterparty_name", "counterparty_account",
                "reference", "source_row", "status", "allocated_fen", "explanation", "created_at", "updated_at")
LINE_TYPES = ("int", "int", "text", "text", "text", "text", "int", "timestamptz", "text", "int8", "int8", "text",
              "text", "text", "jsonb", "text", "int8", "jsonb", "timestamptz", "timestamptz")
#: rows per insert statement (one round trip each on PostgreSQL, bounded memory per statement)
BULK_ROWS = 5000
LINE_JSON = StatementLine._meta.fields_map["explanation"]


async def _insert_lines(conn: BaseDBAsyncClient, rows: list[tuple[Any, ...]]) -> None:
    """New statement lines (LINE_COLUMNS tuples) in bulk (a COPY on PostgreSQL: they are new by construction): a
    unique dedupe key taken meanwhile fails the import (IntegrityError from the plain INSERT the COPY falls back
    to), as the ORM's bulk insert did."""
    t = names(StatementLine)
    columns = [getattr(t, c) for c in LINE_COLUMNS]
    statement = f"INSERT INTO {t} ({', '.join(columns)}) {{rows}}"
    for start in range(0, len(rows), BULK_ROWS):
        await sql.copy_new(conn, str(t), columns, statement, LINE_TYPES, rows[start:start + BULK_ROWS])


async def _refused(exc: StatementRefused, *, filename: str, digest: str, building_id: int | None,
                   actor_id: int | None, now: datetime) -> None:
    async with in_transaction():
        record = await StatementImport.create(
            format_name=str(exc.details.get("checked_against") or exc.details.get("format") or ""),
            filename=filename[:200], sha256=digest, building_id=building_id, status=ImportStatus.REFUSED,
            imported_by_id=actor_id, imported_at=now, error_code=exc.code, error_details=exc.details)
        feed, _ = await StatementFeed.get_or_create(key=feed_key(building_id), defaults={"building_id": building_id})
        await StatementFeed.filter(id=feed.id).update(last_failed_import_id=record.id, last_failed_at=now,
                                                      last_error_code=exc.code)
        await raise_alert(alert_type=ALERT_STATEMENT_REFUSED, now=now, building_id=building_id,
                          subject=feed_key(building_id), severity=AlertSeverity.WARNING,
                          explanation=f"statement {filename or '(upload)'} refused: {exc.code}: {exc.message}"[:2000],
                          evidence={"import_id": record.id, "error_code": exc.code, "details": exc.details})
        for user_id in await _staff_to_tell(building_id):
            await enqueue_notification(
                user_id=user_id, kind=NotificationKind.STATEMENT_REFUSED,
                dedupe_key=f"statement:refused:{record.id}:{user_id}",
                payload={"import_id": record.id, "error_code": exc.code, "title": "银行流水导入被拒绝",
                         "filename": filename[:60], "at": now.isoformat(),
                         "missing": exc.details.get("missing_columns", [])[:10],
                         "unexpected": exc.details.get("unexpected_columns", [])[:10],
                         "closest_format": exc.details.get("closest_format")}, now=now)
    log.warning("statement %s refused: %s %s", filename, exc.code, exc.details)


async def _staff_to_tell(building_id: int | None) -> list[int]:
    if building_id:
        return await staff_of(building_id, (StaffDuty.FINANCE, StaffDuty.MANAGER))
    return sorted(cast(list[int], await User.filter(role=Role.ADMIN, is_active=True).values_list("id", flat=True)))


async def _feed_good(building_id: int | None, record: StatementImport, now: datetime) -> None:
    feed, _ = await StatementFeed.get_or_create(key=feed_key(building_id), defaults={"building_id": building_id})
    await StatementFeed.filter(id=feed.id).update(last_good_import_id=record.id, last_good_at=now)


async def feed_status(building_id: int | None) -> dict[str, Any]:
    """What dashboards show: the last good import and whether a later one was refused (stale)."""
    feed = await StatementFeed.get_or_none(key=feed_key(building_id))
    if feed is None:
        return {"key": feed_key(building_id), "last_good_at": None, "stale": False, "last_error_code": None}
    stale = feed.last_failed_at is not None and (feed.last_good_at is None or feed.last_failed_at > feed.last_good_at)
    return {"key": feed.key, "building_id": feed.building_id, "last_good_import_id": feed.last_good_import_id,
            "last_good_at": feed.last_good_at.isoformat() if feed.last_good_at else None,
            "last_failed_import_id": feed.last_failed_import_id,
            "last_failed_at": feed.last_failed_at.isoformat() if feed.last_failed_at else None,
            "last_error_code": feed.last_error_code or None, "stale": stale}


# --------------------------------------------------------------------------------------------- the index


#: ids per ``IN (…)`` list: PostgreSQL's protocol takes at most 32,767 parameters a statement, and a year's export
#: of a large account has more income lines (and a large portfolio more tenants) than that
ID_CHUNK = 10_000


def _chunks(ids: list[int]) -> list[list[int]]:
    return [ids[start:start + ID_CHUNK] for start in range(0, len(ids), ID_CHUNK)]


@dataclass(slots=True)
class LineValues:
    """The fields of a statement line that reconciling it reads: values, not a model instance (a statement has
    tens of thousands of lines)."""

    id: int
    building_id: int | None
    source: str
    serial: str
    booked_at: datetime
    amount_fen: int
    counterparty_name: str
    reference: str
    status: str
    allocated_fen: int
    explanation: dict[str, Any]


#: a line as stored (the model) or as read for reconciling (its values): what the decisions need of it
AnyLine = StatementLine | LineValues

_LINE_FIELDS = ("id", "building_id", "source", "serial", "booked_at", "amount_fen", "counterparty_name",
                "reference", "status", "allocated_fen", "explanation")


async def read_lines(conn: BaseDBAsyncClient, where: str, params: list[Any], *, order_by: str = "",
                     lock: bool = False) -> list[LineValues]:
    """Statement lines matching ``where`` (raw SQL with ``?``) as LineValues, each value converted by its field
    as the ORM reads it; ``lock``: their rows locked (PostgreSQL; SQLite has one writer), in ``order_by``."""
    t = names(StatementLine)
    fields_map = StatementLine._meta.fields_map
    booked, explained = fields_map["booked_at"].to_python_value, fields_map["explanation"].to_python_value
    statement = f"SELECT {t.cols(*_LINE_FIELDS)} FROM {t} WHERE {where}"
    if order_by:
        statement += f" ORDER BY {order_by}"
    if lock and sql.is_postgres(conn):
        statement += " FOR UPDATE"
    return [LineValues(r[0], r[1], r[2], r[3], booked(r[4]), r[5], r[6], r[7], r[8], r[9], explained(r[10]))
            for r in await sql.execute(conn, statement, params)]


async def build_index(lines: list[AnyLine]) -> Index:
    """Every open receivable of live leases, their parties and aliases, the paid receivables the lines' codes
    name, and hand-recorded payments around the lines' dates."""
    leases = await Lease.filter(status__in=list(LIVE_LEASE_STATUSES)).values_list(
        "id", "contract_no", "tenant_id", "unit__building_id", "start_date")
    contract = {lid: no or "" for lid, no, *_ in leases}
    r, le = names(Receivable), names(Lease)
    open_statuses, live = [str(s) for s in OPEN_RECEIVABLE_STATUSES], [str(s) for s in LIVE_LEASE_STATUSES]
    rows = await sql.execute(Receivable._meta.db, (  # values, not instances: every open receivable of the portfolio
        f"SELECT r.{r.id}, r.{r.lease}, r.{r.tenant}, r.{r.building}, r.{r.due_date}, r.{r.amount_fen}, "
        f"r.{r.paid_fen}, r.{r.charge_type}, r.{r.label} FROM {r} AS r JOIN {le} AS l ON l.{le.id} = r.{r.lease} "
        f"WHERE r.{r.status} IN ({sql.marks(len(open_statuses))}) AND r.{r.open_key} IS NOT NULL "
        f"AND l.{le.status} IN ({sql.marks(len(live))})"), [*open_statuses, *live])
    due_of = Receivable._meta.fields_map["due_date"].to_python_value
    priority = {str(charge): PRIORITY.get(charge, 2) for charge in ChargeType}
    receivables = [OpenReceivable(id=rid, lease_id=lid, tenant_id=tid, building_id=bid,
                                  contract_no=contract.get(lid, ""), due_date=due_of(due),
                                  outstanding_fen=amount - paid, label=label or charge, priority=priority[charge])
                   for rid, lid, tid, bid, due, amount, paid, charge, label in rows]
    tenant_leases: dict[int, list[tuple[Any, int, int]]] = defaultdict(list)
    for lid, _no, tid, bid, start in leases:
        tenant_leases[tid].append((start, lid, bid))
    named = {rid for line in lines for rid in codes_in(line.reference)}
    paid = [PaidReceivable(id=rid, lease_id=lid, tenant_id=tid, building_id=bid, amount_fen=amount, label=label)
            for ids in _chunks(sorted(named))
            for rid, lid, tid, bid, amount, label in await Receivable.filter(
                id__in=ids, status=ReceivableStatus.PAID).values_list(
                "id", "lease_id", "tenant_id", "building_id", "amount_fen", "label")]
    parties = [Party(tenant_id=tid, name=name, aliases=tuple(a for a in (aliases or []) if isinstance(a, str)),
                     leases=tuple((lid, bid) for _s, lid, bid in sorted(tenant_leases[tid], reverse=True)))
               for ids in _chunks(sorted(tenant_leases))
               for tid, name, aliases in await Tenant.filter(id__in=ids).values_list("id", "name", "payer_aliases")]
    recorded: list[RecordedPayment] = []
    if lines:
        low = min(line.booked_at for line in lines) - timedelta(days=8)
        high = max(line.booked_at for line in lines) + timedelta(days=8)
        linked = set(await ReconciliationMatch.filter(status=MatchStatus.APPLIED, payment_id__not_isnull=True)
                     .values_list("payment_id", flat=True))
        for pid, lid, tid, bid, amount, paid_at in await Payment.filter(
                source__in=list(HAND_SOURCES), method__in=list(CHANNEL_METHOD.values()),
                paid_at__gte=low, paid_at__lte=high).values_list(
                "id", "lease_id", "tenant_id", "building_id", "amount_fen", "paid_at"):
            if pid not in linked:
                recorded.append(RecordedPayment(id=pid, lease_id=lid, tenant_id=tid, building_id=bid,
                                                amount_fen=amount, paid_on=paid_at.date()))
    return Index.build(receivables, parties, paid, recorded, contracts={no: lid for lid, no in contract.items() if no})


# --------------------------------------------------------------------------------------------- reconcile


async def reconcile(*, now: datetime, cfg: ReconciliationConfig = DEFAULT_CONFIG,
                    line_ids: list[int] | None = None) -> dict[str, Any]:
    """Decide the unmatched income lines (these ids, or all): proposals, discrepancies, and the decisions at
    or above the threshold applied to the ledger."""
    t = names(StatementLine)
    conn = StatementLine._meta.db
    where = f"{t.status} = ? AND {t.direction} = ?"
    params: list[Any] = [str(LineStatus.UNMATCHED), str(Direction.IN)]
    lines: list[AnyLine]
    if line_ids is not None:
        if not line_ids:
            return {"decided": 0, "applied": 0, "proposed": 0, "unmatched": 0}
        lines = [line for ids in _chunks(line_ids)
                 for line in await read_lines(conn, f"{where} AND {t.id} IN ({sql.marks(len(ids))})", [*params, *ids])]
        lines.sort(key=lambda line: (line.booked_at, line.id))
    else:
        lines = list(await read_lines(conn, where, params, order_by=f"{t.booked_at}, {t.id}"))
    confirmed, lines = await confirm_channel_payments(lines, now=now)
    if not lines:
        return {"decided": 0, "applied": 0, "proposed": 0, "unmatched": 0, "confirmed": confirmed}
    index = await build_index(lines)
    matcher = Matcher(index, min_name_score=cfg.min_name_score)
    by_id = {line.id: line for line in lines}
    tz = ZoneInfo(cfg.timezone)
    decisions = matcher.decide_each(BankLine(id=line.id, amount_fen=line.amount_fen,
                                             booked_on=line.booked_at.astimezone(tz).date(),
                                             counterparty_name=line.counterparty_name, reference=line.reference)
                                    for line in lines)
    counts = {"decided": len(lines), "applied": 0, "proposed": 0, "unmatched": 0, "skipped": 0,
              "confirmed": confirmed}
    # The batches are stored one after the other, as decided (oldest line first); the next batch is decided
    # while the database writes the previous one (the matcher yields to it every DECIDE_SLICE lines).
    storing: asyncio.Task[list[str]] | None = None
    try:
        while chunk := await _next_batch(decisions, by_id, yielding=storing is not None):
            if storing is not None:
                for outcome in await storing:
                    counts[outcome] += 1
            storing = asyncio.create_task(store_decisions(chunk, now=now, cfg=cfg))
        if storing is not None:
            for outcome in await storing:
                counts[outcome] += 1
    finally:
        if storing is not None:  # a batch being written when deciding failed: let it finish (or fail) whole
            await asyncio.gather(storing, return_exceptions=True)
    return counts


#: lines decided between two turns of the event loop while a batch is being written
DECIDE_SLICE = 50


async def _next_batch(decisions: Iterator[Decision], by_id: dict[int, AnyLine], *, yielding: bool
                      ) -> list[tuple[AnyLine, Decision]]:
    """The next STORE_BATCH decisions (fewer at the end, none when done); with ``yielding`` the event loop runs
    every DECIDE_SLICE lines, so the batch being stored meanwhile goes on."""
    chunk: list[tuple[AnyLine, Decision]] = []
    for decision in decisions:
        chunk.append((by_id[decision.line_id], decision))
        if len(chunk) >= STORE_BATCH:
            break
        if yielding and len(chunk) % DECIDE_SLICE == 0:
            await asyncio.sleep(0)
    return chunk


async def confirm_channel_payments(lines: list[AnyLine], *, now: datetime) -> tuple[int, list[AnyLine]]:
    """Lines of a payment channel's bill (WeChat Pay, Alipay) whose 商户订单号 is money the channel's own
    notification already put in the ledger (payments of that source with that order number as reference): the
    line confirms them — MATCHED, no second payment. A different amount is an AMOUNT_MISMATCH and the line waits
    for a person (never matched again by party or amount, which would pay it twice). Returns (confirmed, the
    lines left to match)."""
    refs = {line.id: line.reference.split()[0] for line in lines
            if line.source != StatementSource.BANK and line.reference.strip()}
    if not refs:
        return 0, lines
    sources = {str(LEDGER_SOURCE[s][1]) for s in (StatementSource.WECHAT_PAY, StatementSource.ALIPAY)}
    found: dict[tuple[str, str], list[Payment]] = defaultdict(list)
    for payment in await Payment.filter(source__in=list(sources), reference__in=sorted(set(refs.values())))\
            .order_by("id"):
        found[(str(payment.source), payment.reference)].append(payment)
    left, confirmed = [], 0
    for line in lines:
        ref = refs.get(line.id)
        payments = found.get((str(LEDGER_SOURCE[StatementSource(line.source)][1]), ref or ""), [])
        if not payments:
            left.append(line)
            continue
        total = sum(p.amount_fen for p in payments)
        text = (f"{line.source} order {ref}: the ledger has {len(payments)} payment(s) of {fen(total)} from the "
                f"channel's notification")
        matched = total == line.amount_fen
        explanation = {"rule": str(MatchRule.EXISTING_PAYMENT) if matched else None, "confidence": 100 if matched
                       else 0, "explanation": text + ("; this line confirms them" if matched else
                                                      f"; the bill says {fen(line.amount_fen)}"),
                       "allocations": [], "recorded_payment_id": payments[0].id, "findings": [], "candidates": []}
        async with in_transaction():
            claimed = await StatementLine.filter(id=line.id, status=LineStatus.UNMATCHED).update(
                status=LineStatus.MATCHED if matched else LineStatus.PROPOSED, explanation=explanation,
                allocated_fen=line.amount_fen if matched else 0)
            if not claimed:
                continue
            if not matched:
                await open_discrepancy(Finding(DiscrepancyKind.AMOUNT_MISMATCH, line.amount_fen, total,
                                               explanation["explanation"], lease_id=payments[0].lease_id,
                                               building_id=payments[0].building_id), line=line, now=now,
                                       payment_id=payments[0].id)
                continue
            for payment in payments:
                await ReconciliationMatch.create(
                    line_id=line.id, lease_id=payment.lease_id, building_id=payment.building_id,
                    receivable_id=await _first_receivable_of(payment.id), amount_fen=payment.amount_fen,
                    rule=MatchRule.EXISTING_PAYMENT, confidence=100, status=MatchStatus.APPLIED,
                    explanation=text[:1000], details={"recorded_payment_id": payment.id}, payment_id=payment.id,
                    decided_at=now)
            confirmed += 1
    return confirmed, left


async def store_decision(line: AnyLine, decision: Decision, *, now: datetime,
                         cfg: ReconciliationConfig) -> str:
    """Proposals and findings of one decision; applied at once when confident enough."""
    if decision.allocated_fen > line.amount_fen:
        raise ValidationFailed("a decision allocates more than its line", code="OVER_ALLOCATED",
                               details={"line_id": line.id, "allocated_fen": decision.allocated_fen})
    kept = {k: line.explanation[k] for k in PERSON_DECIDED if k in (line.explanation or {})}
    async with in_transaction():
        claimed = await StatementLine.filter(id=line.id, status=LineStatus.UNMATCHED).update(
            status=LineStatus.UNMATCHED if decision.rule is None else LineStatus.PROPOSED,
            explanation={**decision.as_dict(), **kept})
        if not claimed:
            return "skipped"
        for finding in decision.findings:
            await open_discrepancy(finding, line=line, now=now)
        if decision.rule is None:
            return "unmatched"
        if decision.recorded_payment_id is not None:
            payment = await Payment.get(id=decision.recorded_payment_id)
            await ReconciliationMatch.create(
                line_id=line.id, lease_id=payment.lease_id, building_id=payment.building_id,
                receivable_id=await _first_receivable_of(payment.id), amount_fen=line.amount_fen,
                rule=decision.rule, confidence=decision.confidence, status=MatchStatus.PROPOSED,
                explanation=decision.explanation[:1000], details={"recorded_payment_id": payment.id},
                payment_id=payment.id)
        else:
            grouped: dict[int, list] = defaultdict(list)
            for allocation in decision.allocations:
                grouped[allocation.lease_id].append(allocation)
            for lease_id, allocations in grouped.items():
                head = next((a.receivable_id for a in allocations if a.receivable_id is not None), None)
                await ReconciliationMatch.create(
                    line_id=line.id, lease_id=lease_id, building_id=allocations[0].building_id, receivable_id=head,
                    amount_fen=sum(a.amount_fen for a in allocations), rule=decision.rule,
                    confidence=decision.confidence, status=MatchStatus.PROPOSED,
                    explanation=decision.explanation[:1000],
                    details={"allocations": [{"receivable_id": a.receivable_id, "amount_fen": a.amount_fen}
                                             for a in allocations], "candidates": list(decision.candidates)})
    if decision.applies(cfg.auto_apply_confidence) and not kept:  # a person undid a match here: a person decides
        await apply_line(line.id, now=now, actor_id=None)
        return "applied"
    return "proposed"


async def _first_receivable_of(payment_id: int) -> int | None:
    allocation = await PaymentAllocation.filter(payment_id=payment_id).order_by("id").first()
    return allocation.receivable_id if allocation else None


async def open_discrepancy(finding: Finding, *, line: AnyLine | None, now: datetime,
                           payment_id: int | None = None, key: str | None = None) -> Discrepancy | None:
    """One list item per finding and subject (a second detection of the same thing adds nothing)."""
    subject = f"line:{line.id}" if line is not None else f"payment:{payment_id}"
    key = key or f"{finding.kind}:{subject}"
    if await Discrepancy.filter(key=key).exists():
        return None
    building_id = finding.building_id or (line.building_id if line is not None else None)
    try:
        async with in_transaction():
            return await Discrepancy.create(
                kind=finding.kind, key=key, building_id=building_id, line_id=line.id if line else None,
                receivable_id=finding.receivable_id, payment_id=payment_id, lease_id=finding.lease_id,
                amount_fen=finding.amount_fen, expected_fen=finding.expected_fen,
                explanation=finding.explanation[:1000], detected_at=now,
                details={"line": _line_brief(line)} if line is not None else {})
    except IntegrityError:
        return None


def _line_brief(line: AnyLine) -> dict[str, Any]:
    return {"id": line.id, "serial": line.serial, "booked_at": line.booked_at.isoformat(),
            "amount_fen": line.amount_fen, "counterparty_name": line.counterparty_name, "reference": line.reference}


# --------------------------------------------------------------------------------------------- storing in batches

#: decisions stored per batch (one transaction, a few set-wise statements). Each batch pays fixed round trips
#: (locks, reads of the leases' receivables, one statement per kind of row): 2,500 took a 50,000-line statement
#: from 21.6 s to 18.8 s on PostgreSQL against 1,000 (bench/reconciliation_bench.py --db); a batch holds its lines'
#: and receivables' row locks for well under a second, and a conflict sends only that batch line by line.
STORE_BATCH = 2500


class BatchFallback(Exception):
    """The batch cannot give every line the outcome the per-line path gives it (a concurrent change, a case only
    the per-line path handles): the batch is rolled back and its lines go one by one through ``store_decision``."""


async def store_decisions(items: list[tuple[AnyLine, Decision]], *, now: datetime,
                          cfg: ReconciliationConfig) -> list[str]:
    """``store_decision`` for many lines at once, with the same per-line outcome, in one transaction: the lines'
    proposals, findings and (confident ones) ledger payments written set-wise. Should anything have changed
    concurrently (a receivable's paid amount, a payment's external reference taken meanwhile), the batch is
    rolled back and goes line by line through ``store_decision``."""
    try:
        return await _store_batch(items, now=now, cfg=cfg)
    except (BatchFallback, IntegrityError) as exc:
        log.info("reconciliation batch of %s lines goes line by line: %s", len(items), exc)
    return [await store_decision(line, decision, now=now, cfg=cfg) for line, decision in items]


@dataclass
class _Open:
    """A receivable of a lease the batch pays, as the batch has left it so far."""

    id: int
    lease_id: int
    amount_fen: int
    paid_fen: int
    was_paid_fen: int
    charge_type: str
    due_date: Any
    paid_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.paid_fen < self.amount_fen


#: the columns of a new match, in the order ``_match_row`` gives them
MATCH_COLUMNS = ("line_id", "lease_id", "receivable_id", "building_id", "amount_fen", "rule", "confidence", "status",
                 "explanation", "details", "payment_id", "decided_by_id", "decided_at", "created_at", "updated_at")
MATCH_TYPES = ("int8", "int", "int8", "int", "int8", "text", "int", "text", "text", "jsonb", "int8", "int",
               "timestamptz", "timestamptz", "timestamptz")


def _match_row(line: AnyLine, decision: Decision, *, lease_id: int, building_id: int, receivable_id: int | None,
               amount_fen: int, status: str, details: dict[str, Any], payment_id: int | None,
               decided_at: datetime | None, stamp: datetime) -> tuple[Any, ...]:
    """A new match of a batch line (MATCH_COLUMNS), its values as the ORM writes them."""
    encode = ReconciliationMatch._meta.fields_map["details"].to_db_value
    return (line.id, lease_id, receivable_id, building_id, amount_fen, str(decision.rule), decision.confidence,
            str(status), decision.explanation[:1000], encode(details, ReconciliationMatch), payment_id, None,
            decided_at, stamp, stamp)


async def _insert_matches(conn: BaseDBAsyncClient, rows: list[tuple[Any, ...]]) -> None:
    m = names(ReconciliationMatch)
    statement = f"INSERT INTO {m} ({m.cols(*MATCH_COLUMNS)}) {{rows}}"
    for start in range(0, len(rows), BULK_ROWS):
        await sql.bulk(conn, statement, MATCH_TYPES, rows[start:start + BULK_ROWS])


async def _store_batch(items: list[tuple[AnyLine, Decision]], *, now: datetime,
                       cfg: ReconciliationConfig) -> list[str]:
    if any(decision.allocated_fen > line.amount_fen for line, decision in items):
        raise BatchFallback("a decision allocates more than its line")
    ids = sorted(line.id for line, _ in items)
    t, m = names(StatementLine), names(ReconciliationMatch)
    async with in_transaction() as conn:
        locked = {line.id: line for line in await read_lines(  # locked in id order, as every batch locks them
            conn, f"{t.id} IN ({sql.marks(len(ids))})", ids, order_by=str(t.id), lock=True)}
        # no LIMIT: with one, PostgreSQL walks every proposal by status instead of the lines' index
        if await sql.execute(conn, f"SELECT {m.line} FROM {m} WHERE {m.line} IN ({sql.marks(len(ids))}) "
                                   f"AND {m.status} = ?", [*ids, str(MatchStatus.PROPOSED)]):
            raise BatchFallback("a line already has proposals")
        outcome: dict[int, str] = {}
        live: list[tuple[AnyLine, Decision, dict[str, Any]]] = []
        for line, decision in items:
            current = locked.get(line.id)
            if current is None or current.status != LineStatus.UNMATCHED:
                outcome[line.id] = "skipped"
                continue
            kept = {k: current.explanation[k] for k in PERSON_DECIDED if k in (current.explanation or {})}
            live.append((current, decision, kept))
        await _batch_discrepancies(conn, [(line, decision) for line, decision, _ in live], now=now)

        recorded, firsts = await _recorded_payments(sorted({
            d.recorded_payment_id for _, d, _ in live if d.rule is not None and d.recorded_payment_id is not None}))
        applying = [(line, d) for line, d, kept in live
                    if d.rule is not None and d.applies(cfg.auto_apply_confidence) and not kept]
        ledger = await _batch_ledger(conn, [(line, d) for line, d in applying if d.recorded_payment_id is None],
                                     now=now)

        stamp = timezone.localtime()  # created/updated as the ORM stamps them
        matches: list[tuple[Any, ...]] = []
        updates: list[tuple[int, str, dict[str, Any], int]] = []
        applied_ids = {line.id for line, _ in applying}
        for line, decision, kept in live:
            explanation = {**decision.as_dict(), **kept}
            if decision.rule is None:
                outcome[line.id] = "unmatched"
                updates.append((line.id, LineStatus.UNMATCHED, explanation, line.allocated_fen))
                continue
            applied = line.id in applied_ids
            status = MatchStatus.APPLIED if applied else MatchStatus.PROPOSED
            decided = now if applied else None
            total = 0
            if decision.recorded_payment_id is not None:
                payment = recorded[decision.recorded_payment_id]
                details: dict[str, Any] = {"recorded_payment_id": payment.id}
                if applied:
                    details.update(payment_id=payment.id, ledger_allocations=[])
                    await _close_paid_without_line(payment.id, line, now)
                matches.append(_match_row(line, decision, lease_id=payment.lease_id, building_id=payment.building_id,
                                          receivable_id=firsts.get(payment.id), amount_fen=line.amount_fen,
                                          status=status, details=details, payment_id=payment.id,
                                          decided_at=decided, stamp=stamp))
                total = line.amount_fen
            else:
                for lease_id, allocations in _by_lease(decision).items():
                    head = next((a.receivable_id for a in allocations if a.receivable_id is not None), None)
                    amount = sum(a.amount_fen for a in allocations)
                    details = {"allocations": [{"receivable_id": a.receivable_id, "amount_fen": a.amount_fen}
                                               for a in allocations], "candidates": list(decision.candidates)}
                    payment_id = None
                    if applied:
                        payment_id, made = ledger[(line.id, lease_id)]
                        details.update(payment_id=payment_id, ledger_allocations=[list(a) for a in made])
                    matches.append(_match_row(line, decision, lease_id=lease_id,
                                              building_id=allocations[0].building_id, receivable_id=head,
                                              amount_fen=amount, status=status, details=details,
                                              payment_id=payment_id, decided_at=decided, stamp=stamp))
                    total += amount
            if applied:
                if not total or total + line.allocated_fen > line.amount_fen:
                    raise BatchFallback(f"line {line.id}: nothing to apply, or more than its amount")
                outcome[line.id] = "applied"
                updates.append((line.id, LineStatus.MATCHED, explanation, line.allocated_fen + total))
            else:
                outcome[line.id] = "proposed"
                updates.append((line.id, LineStatus.PROPOSED, explanation, line.allocated_fen))
        await _insert_matches(conn, matches)
        await _update_lines(conn, updates)
    return [outcome[line.id] for line, _ in items]


async def _recorded_payments(ids: list[int]) -> tuple[dict[int, Payment], dict[int, int]]:
    """The hand-recorded payments the batch's lines confirm, and each one's first receivable."""
    if not ids:
        return {}, {}
    recorded = {p.id: p for p in await Payment.filter(id__in=ids)}
    if len(recorded) != len(ids):
        raise BatchFallback("a recorded payment is gone")
    firsts: dict[int, int] = {}
    for pid, rid in await PaymentAllocation.filter(payment_id__in=ids).order_by("-id").values_list(
            "payment_id", "receivable_id"):
        firsts[pid] = rid
    return recorded, firsts


def _by_lease(decision: Decision) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for allocation in decision.allocations:
        grouped[allocation.lease_id].append(allocation)
    return grouped


#: the columns of a new discrepancy, in the order ``_batch_discrepancies`` gives them
DISCREPANCY_COLUMNS = ("kind", "key", "building_id", "line_id", "receivable_id", "payment_id", "lease_id", "amount_fen",
                       "expected_fen", "explanation", "details", "status", "detected_at", "resolved_by_id",
                       "resolved_at", "resolution_note", "created_at", "updated_at")
DISCREPANCY_TYPES = ("text", "text", "int", "int8", "int8", "int8", "int", "int8", "int8", "text", "jsonb", "text",
                     "timestamptz", "int", "timestamptz", "text", "timestamptz", "timestamptz")


async def _batch_discrepancies(conn: BaseDBAsyncClient, items: list[tuple[AnyLine, Decision]], *,
                               now: datetime) -> None:
    """``open_discrepancy`` for every finding of the batch: keys already listed are skipped (one read), the rest
    inserted ON CONFLICT DO NOTHING."""
    stamp = timezone.localtime()  # created/updated as the ORM stamps them
    encode = Discrepancy._meta.fields_map["details"].to_db_value
    planned: dict[str, tuple[Any, ...]] = {}
    for line, decision in items:
        for finding in decision.findings:
            key = f"{finding.kind}:line:{line.id}"
            if key in planned:
                continue
            planned[key] = (str(finding.kind), key, finding.building_id or line.building_id, line.id,
                            finding.receivable_id, None, finding.lease_id, finding.amount_fen, finding.expected_fen,
                            finding.explanation[:1000], encode({"line": _line_brief(line)}, Discrepancy),
                            str(DiscrepancyStatus.OPEN), now, None, None, "", stamp, stamp)
    if not planned:
        return
    d = names(Discrepancy)
    keys = list(planned)
    taken = {row[0] for start in range(0, len(keys), ID_CHUNK) for row in await sql.execute(
        conn, f"SELECT {d.key} FROM {d} WHERE {d.key} IN ({sql.marks(len(keys[start:start + ID_CHUNK]))})",
        keys[start:start + ID_CHUNK])}
    rows = [row for key, row in planned.items() if key not in taken]
    statement = f"INSERT INTO {d} ({d.cols(*DISCREPANCY_COLUMNS)}) {{rows}} ON CONFLICT DO NOTHING"
    for start in range(0, len(rows), BULK_ROWS):
        await sql.bulk(conn, statement, DISCREPANCY_TYPES, rows[start:start + BULK_ROWS])


#: the columns of a new payment of a batch, in the order ``_batch_ledger`` gives them
PAYMENT_COLUMNS = ("lease_id", "tenant_id", "building_id", "amount_fen", "unallocated_fen", "paid_at", "method",
                   "source", "external_ref", "payer_name", "reference", "adjusts_id", "recorded_by_id", "note",
                   "reversed_at", "created_at", "updated_at")
PAYMENT_TYPES = ("int", "int", "int", "int8", "int8", "timestamptz", "text", "text", "text", "text", "text", "int8",
                 "int", "text", "timestamptz", "timestamptz", "timestamptz")


@dataclass(frozen=True)
class _Lease:
    """A lease the batch pays (its row locked)."""

    id: int
    tenant_id: int
    unit_id: int
    status: str
    first_rent_paid_at: Any


async def _lock_leases(conn: BaseDBAsyncClient, lease_ids: list[int]) -> tuple[dict[int, _Lease], dict[int, int]]:
    """The leases the batch pays, their rows locked in id order (as every batch locks them), and their units'
    buildings (unit id → building id). A lease gone or not live raises BatchFallback."""
    leases: dict[int, _Lease] = {}
    buildings: dict[int, int] = {}
    if lease_ids:
        le, u = names(Lease), names(Unit)
        leases = {row[0]: _Lease(*row) for row in await sql.execute(conn, (
            f"SELECT {le.id}, {le.tenant}, {le.unit}, {le.status}, {le.first_rent_paid_at} FROM {le} "
            f"WHERE {le.id} IN ({sql.marks(len(lease_ids))}) ORDER BY {le.id}"
            f"{' FOR UPDATE' if sql.is_postgres(conn) else ''}"), lease_ids)}
        unit_ids = sorted({lease.unit_id for lease in leases.values()})
        if unit_ids:
            buildings = {row[0]: row[1] for row in await sql.execute(
                conn, f"SELECT {u.id}, {u.building} FROM {u} WHERE {u.id} IN ({sql.marks(len(unit_ids))})",
                unit_ids)}
    if len(leases) != len(lease_ids) or any(lease.status == "DRAFT" for lease in leases.values()):
        raise BatchFallback("a lease is gone or not live")
    return leases, buildings


async def _batch_ledger(conn: BaseDBAsyncClient, items: list[tuple[AnyLine, Decision]], *, now: datetime
                        ) -> dict[tuple[int, int], tuple[int, list[tuple[int, int]]]]:
    """``record_payment`` for every lease of every confident line, in the order the per-line path records them:
    (line id, lease id) → (payment id, its allocations). A payment whose external reference exists already is
    that payment, with nothing allocated (idempotent). Allocations by the ledger's own ``allocate`` over the
    batch's running view of the leases' open receivables, written with conditional updates: a receivable changed
    meanwhile raises BatchFallback."""
    out: dict[tuple[int, int], tuple[int, list[tuple[int, int]]]] = {}
    if not items:
        return out
    planned = _planned_payments(items)
    refs = [ref for *_, ref in planned]
    p, le, r = names(Payment), names(Lease), names(Receivable)
    existing: dict[str, int] = {row[0]: row[1] for row in await sql.execute(
        conn, f"SELECT {p.external_ref}, {p.id} FROM {p} WHERE {p.external_ref} IN ({sql.marks(len(refs))})", refs)}
    lease_ids = sorted({lease_id for _, _, lease_id, _, _, ref in planned if ref not in existing})
    leases, buildings = await _lock_leases(conn, lease_ids)
    state, by_lease, first_rent = await _lease_receivables(
        conn, lease_ids, {lid for lid in lease_ids if leases[lid].first_rent_paid_at is None})
    heads = sorted({head for _, _, _, _, head, _ in planned if head is not None and head not in state})
    if heads and await sql.execute(conn, (
            f"SELECT 1 FROM {r} WHERE {r.id} IN ({sql.marks(len(heads))}) AND {r.status} IN "
            f"({sql.marks(len(OPEN_RECEIVABLE_STATUSES))}) LIMIT 1"),
            [*heads, *(str(status) for status in OPEN_RECEIVABLE_STATUSES)]):
        raise BatchFallback("a named receivable is open but not an open item of its lease")
    facts: dict[int, datetime] = {}
    stamp = timezone.localtime()  # created/updated as the ORM stamps them
    payments: list[tuple[Any, ...]] = []
    made: dict[str, list[tuple[int, int]]] = {}
    for line, decision, lease_id, amount, head, ref in planned:
        if ref in existing:
            out[(line.id, lease_id)] = (existing[ref], [])
            continue
        lease = leases[lease_id]
        if head is not None and head in state and state[head].lease_id != lease_id:
            raise BatchFallback(f"receivable {head} is not of lease {lease_id}")
        if head is not None and (head not in state or not state[head].open):
            head = None
        allocations, left = _allocate_open(by_lease[lease_id], amount, head, line.booked_at)
        if allocations and lease_id in first_rent and lease_id not in facts:
            first_id, first_status = first_rent[lease_id]
            paid = not state[first_id].open if first_id in state else first_status == ReceivableStatus.PAID
            if paid:
                facts[lease_id] = line.booked_at
        method, paid_through = LEDGER_SOURCE[StatementSource(line.source)]
        payments.append((lease.id, lease.tenant_id, buildings[lease.unit_id], amount, left, line.booked_at,
                         str(method), str(paid_through), ref, line.counterparty_name[:100],
                         (line.serial or line.reference)[:120], None, None,
                         f"statement line {line.id}: {decision.rule}"[:500], None, stamp, stamp))
        made[ref] = allocations
    ids = {row["external_ref"]: row["id"] for row in await sql.bulk_returning(
        conn, f"INSERT INTO {p} ({p.cols(*PAYMENT_COLUMNS)}) {{rows}} RETURNING {p.external_ref}, {p.id}",
        PAYMENT_TYPES, payments)}
    for line, _decision, lease_id, _amount, _head, ref in planned:
        if ref not in existing:
            out[(line.id, lease_id)] = (ids[ref], made[ref])
    a = names(PaymentAllocation)
    await sql.bulk(conn, f"INSERT INTO {a} ({a.cols('payment_id', 'receivable_id', 'amount_fen', 'at')}) {{rows}}",
                   ("int8", "int8", "int8", "timestamptz"),
                   [(ids[ref], rid, fen_, now) for ref, allocations in made.items() for rid, fen_ in allocations])
    touched = [row for row in state.values() if row.paid_fen != row.was_paid_fen]
    await _update_receivables(conn, touched)
    for row in touched:
        if row.charge_type == ChargeType.DEPOSIT:
            await hold_deposit(row.lease_id, row.id, row.paid_fen)
    if facts:
        await sql.execute_many(conn, f"UPDATE {le} SET {le.first_rent_paid_at} = ? WHERE {le.id} = ? "
                                     f"AND {le.first_rent_paid_at} IS NULL", [(at, lid) for lid, at in facts.items()])
    return out


def _planned_payments(items: list[tuple[AnyLine, Decision]]
                      ) -> list[tuple[AnyLine, Decision, int, int, int | None, str]]:
    """(line, decision, lease id, amount, receivable paid first, external reference) of each payment to record,
    in the per-line path's order and with its references."""
    planned = []
    for line, decision in items:
        grouped = _by_lease(decision)
        base = f"{REF_PREFIX[StatementSource(line.source)]}:{line.serial or 'line' + str(line.id)}"
        many = len(grouped) > 1
        for lease_id, allocations in grouped.items():
            head = next((a.receivable_id for a in allocations if a.receivable_id is not None), None)
            amount = sum(a.amount_fen for a in allocations)
            if amount <= 0:
                raise BatchFallback(f"line {line.id}: a payment of {amount}")
            planned.append((line, decision, lease_id, amount, head, (f"{base}/{lease_id}" if many else base)[:120]))
    refs = [ref for *_, ref in planned]
    if len(set(refs)) != len(refs):
        raise BatchFallback("two payments of the batch share an external reference")
    return planned


async def _lease_receivables(conn: BaseDBAsyncClient, lease_ids: list[int], first_rent_of: set[int]
                             ) -> tuple[dict[int, _Open], dict[int, list[_Open]], dict[int, tuple[int, str]]]:
    """In one read of the leases' scheduled receivables: their open items (what ``record_payment`` allocates
    over), by id and by lease; and for the leases in ``first_rent_of`` their first (non-zero) rent receivable,
    (id, status) — what ``first_rent_paid_at`` waits for."""
    state: dict[int, _Open] = {}
    by_lease: dict[int, list[_Open]] = defaultdict(list)
    first: dict[int, tuple[Any, int, str]] = {}
    if not lease_ids:
        return state, by_lease, {}
    r = names(Receivable)
    due_of = Receivable._meta.fields_map["due_date"].to_python_value
    start_of = Receivable._meta.fields_map["period_start"].to_python_value
    open_statuses = {str(status) for status in OPEN_RECEIVABLE_STATUSES}
    for rid, lid, amount, paid, charge_type, due, start, status in await sql.execute(conn, (
            f"SELECT {r.cols('id', 'lease_id', 'amount_fen', 'paid_fen', 'charge_type', 'due_date', 'period_start')}, "
            f"{r.status} FROM {r} WHERE {r.lease} IN ({sql.marks(len(lease_ids))}) AND {r.open_key} IS NOT NULL"),
            lease_ids):
        if status in open_statuses:
            row = _Open(rid, lid, amount, paid, paid, charge_type, due_of(due))
            state[rid] = row
            by_lease[lid].append(row)
        if lid in first_rent_of and charge_type == ChargeType.RENT and amount > 0:
            start = start_of(start)
            if lid not in first or (start, rid) < first[lid][:2]:
                first[lid] = (start, rid, status)
    return state, by_lease, {lid: (rid, status) for lid, (_s, rid, status) in first.items()}


def _allocate_open(rows: list[_Open], amount: int, head: int | None, paid_at: datetime
                   ) -> tuple[list[tuple[int, int]], int]:
    """The ledger's allocation of a new payment (``head`` first, then oldest first) over the lease's items as the
    batch has left them, applied to them: (allocations, the rest as credit)."""
    items = [OpenItem(id=r.id, due_date=r.due_date, outstanding_fen=r.amount_fen - r.paid_fen,
                      priority=PRIORITY.get(ChargeType(r.charge_type), 2)) for r in rows if r.open]
    allocations, left = allocate(amount, [i for i in items if i.id == head])
    more, left = allocate(left, [i for i in items if i.id != head])
    allocations += more
    by_id = {r.id: r for r in rows}
    for rid, fen_ in allocations:
        row = by_id[rid]
        row.paid_fen += fen_
        row.paid_at = paid_at if row.paid_fen >= row.amount_fen else None
    return allocations, left


async def _update_receivables(connection: Any, rows: list[_Open]) -> None:
    """The batch's receivables paid, each only if its paid amount is still what the batch read."""
    if not rows:
        return
    values = [(r.id, r.was_paid_fen, r.paid_fen, str(stored_status(r.amount_fen, r.paid_fen)), r.paid_at)
              for r in sorted(rows, key=lambda r: r.id)]  # rows locked in id order, as every batch locks them
    if sql.is_postgres(connection):
        t = names(Receivable)
        won = await connection.execute_query_dict(sql.render((
            f"UPDATE {t} AS r SET {t.paid_fen} = v.paid, {t.status} = v.status, {t.paid_at} = v.paid_at, "
            f"{t.updated_at} = now() FROM unnest(?::bigint[], ?::bigint[], ?::bigint[], ?::text[], "
            f"?::timestamptz[]) AS v(id, was, paid, status, paid_at) WHERE r.{t.id} = v.id AND r.{t.paid_fen} = v.was "
            f"RETURNING r.{t.id}"), connection), [list(column) for column in zip(*values, strict=True)])
        changed = len(won) != len(values)
    else:
        changed = False
        for rid, was, paid, status, paid_at in values:
            changed |= await Receivable.filter(id=rid, paid_fen=was).update(
                paid_fen=paid, status=status, paid_at=paid_at) != 1
    if changed:
        raise BatchFallback("a receivable changed concurrently")


async def _update_lines(connection: Any, rows: list[tuple[int, str, dict[str, Any], int]]) -> None:
    """Each line's status, explanation and allocated amount: one statement on PostgreSQL."""
    if not rows:
        return
    if sql.is_postgres(connection):
        t = names(StatementLine)
        encode = StatementLine._meta.fields_map["explanation"].to_db_value
        await sql.bulk(connection, (
            f"UPDATE {t} AS l SET {t.status} = v.status, {t.explanation} = v.explanation::jsonb, "
            f"{t.allocated_fen} = v.allocated, {t.updated_at} = now() FROM ({{rows}}) AS v(id, status, explanation, "
            f"allocated) WHERE l.{t.id} = v.id"), ("int8", "text", "text", "int8"),
            [(lid, str(status), encode(explanation, StatementLine), allocated)
             for lid, status, explanation, allocated in rows])
        return
    for lid, status, explanation, allocated in rows:
        await StatementLine.filter(id=lid).update(status=status, explanation=explanation, allocated_fen=allocated)


# --------------------------------------------------------------------------------------------- applying


async def apply_line(line_id: int, *, now: datetime, actor_id: int | None) -> StatementLine:
    """Apply a line's proposed matches to the ledger: one payment per lease (idempotent by the line's
    reference), or the confirmation of a payment already recorded by hand. Never more than the line's amount."""
    async with in_transaction():
        line = await StatementLine.select_for_update().get_or_none(id=line_id)
        if line is None:
            raise NotFound("statement line not found")
        if line.status != LineStatus.PROPOSED:
            raise InvalidTransition("statement line", line.status, LineStatus.MATCHED, [LineStatus.PROPOSED])
        matches = await ReconciliationMatch.filter(line_id=line.id, status=MatchStatus.PROPOSED).order_by("id")
        total = sum(m.amount_fen for m in matches)
        if not matches or total + line.allocated_fen > line.amount_fen:
            raise ValidationFailed("nothing to apply, or more than the line's amount", code="OVER_ALLOCATED",
                                   details={"line_id": line.id, "proposed_fen": total, "amount_fen": line.amount_fen})
        method, source = LEDGER_SOURCE[StatementSource(line.source)]
        base = f"{REF_PREFIX[StatementSource(line.source)]}:{line.serial or 'line' + str(line.id)}"
        many = len({m.lease_id for m in matches if m.payment_id is None}) > 1
        for match in matches:
            ledger_allocations: list = []
            if match.payment_id is None:
                ref = f"{base}/{match.lease_id}" if many else base
                head = match.receivable_id
                if head is not None and not await Receivable.filter(
                        id=head, status__in=list(OPEN_RECEIVABLE_STATUSES)).exists():
                    head = None
                result = await record_payment(
                    lease_id=match.lease_id, amount_fen=match.amount_fen, paid_at=line.booked_at, method=method,
                    now=now, payer_name=line.counterparty_name, reference=(line.serial or line.reference)[:120],
                    source=source, external_ref=ref[:120], receivable_id=head, actor_id=actor_id,
                    note=f"statement line {line.id}: {match.rule}")
                payment_id = result.payment.id
                ledger_allocations = [list(a) for a in result.allocations]
                await ReconciliationMatch.filter(id=match.id).update(payment_id=payment_id)
            else:
                payment_id = match.payment_id
                await _close_paid_without_line(payment_id, line, now)
            await ReconciliationMatch.filter(id=match.id).update(
                status=MatchStatus.APPLIED, decided_by_id=actor_id, decided_at=now,
                details={**match.details, "payment_id": payment_id, "ledger_allocations": ledger_allocations})
        await StatementLine.filter(id=line.id).update(status=LineStatus.MATCHED,
                                                      allocated_fen=line.allocated_fen + total)
    return await StatementLine.get(id=line_id)


async def _close_paid_without_line(payment_id: int, line: AnyLine, now: datetime) -> None:
    await Discrepancy.filter(kind=DiscrepancyKind.PAID_WITHOUT_BANK_LINE, payment_id=payment_id,
                             status=DiscrepancyStatus.OPEN).update(
        status=DiscrepancyStatus.CONFIRMED, resolved_at=now,
        resolution_note=f"{SYSTEM}: statement line {line.id} ({line.serial or line.booked_at.date()}) is this money")


async def reject_line(line_id: int, *, reason: str, actor_id: int, now: datetime) -> StatementLine:
    """A person rejects the proposals: the line is unmatched income again (a discrepancy until decided)."""
    _need_reason(reason)
    async with in_transaction():
        line = await StatementLine.select_for_update().get_or_none(id=line_id)
        if line is None:
            raise NotFound("statement line not found")
        if line.status != LineStatus.PROPOSED:
            raise InvalidTransition("statement line", line.status, LineStatus.UNMATCHED, [LineStatus.PROPOSED])
        await ReconciliationMatch.filter(line_id=line.id, status=MatchStatus.PROPOSED).update(
            status=MatchStatus.REJECTED, decided_by_id=actor_id, decided_at=now,
            explanation=f"rejected: {reason.strip()}"[:1000])
        await StatementLine.filter(id=line.id).update(
            status=LineStatus.UNMATCHED,
            explanation={**line.explanation, "rejected": {"by": actor_id, "at": now.isoformat(), "why": reason}})
        await open_discrepancy(Finding(DiscrepancyKind.UNMATCHED_INCOME, line.amount_fen, None,
                                       f"bank income {fen(line.amount_fen)}: the proposal was rejected ({reason})"),
                               line=line, now=now)
    return await StatementLine.get(id=line_id)


async def reverse_line(line_id: int, *, reason: str, actor_id: int, now: datetime) -> StatementLine:
    """A person undoes a line's applied match (a wrong lease or receivable): the ledger payments the line made are
    reversed (the receivables back to open or partially paid, never below zero), a payment it only confirmed is
    no longer confirmed, the line is unmatched income again and a discrepancy until decided; who, when and why
    on the line, its matches and the audit log. Reversing a reversed line changes nothing."""
    note = _need_reason(reason)
    async with in_transaction():
        line = await StatementLine.select_for_update().get_or_none(id=line_id)
        if line is None:
            raise NotFound("statement line not found")
        matches = await ReconciliationMatch.filter(line_id=line.id, status=MatchStatus.APPLIED).order_by("id")
        if line.status == LineStatus.UNMATCHED and not matches and line.explanation.get("reversed"):
            return line  # already reversed
        if line.status != LineStatus.MATCHED or not matches:
            raise InvalidTransition("statement line", line.status, LineStatus.UNMATCHED, [LineStatus.MATCHED])
        method, source = LEDGER_SOURCE[StatementSource(line.source)]
        undone: list[dict[str, Any]] = []
        for match in matches:
            ledger: list[list[int]] = []
            payment = await Payment.get_or_none(id=match.payment_id) if match.payment_id else None
            made_by_line = payment is not None and payment.source == source and match.rule != \
                MatchRule.EXISTING_PAYMENT and "recorded_payment_id" not in match.details
            if payment is not None and made_by_line:
                ledger = [list(pair) for pair in await reverse_payment(payment.id, now=now,
                                                                        note=f"statement line {line.id}: {note}")]
            entry = {"match_id": match.id, "payment_id": match.payment_id, "payment_reversed": made_by_line,
                     "receivables_undone": ledger}
            await ReconciliationMatch.filter(id=match.id).update(
                status=MatchStatus.REVERSED, details={**match.details, "reversed": {
                    "by": actor_id, "at": now.isoformat(), "why": note, "receivables_undone": ledger}})
            undone.append(entry)
        history = [*line.explanation.get("reversed", []), {"by": actor_id, "at": now.isoformat(), "why": note,
                                                          "matches": undone}]
        await StatementLine.filter(id=line.id).update(status=LineStatus.UNMATCHED, allocated_fen=0,
                                                      explanation={**line.explanation, "reversed": history})
        await open_discrepancy(Finding(DiscrepancyKind.UNMATCHED_INCOME, line.amount_fen, None,
                                       f"{line.source} income {fen(line.amount_fen)}: its match was reversed "
                                       f"({note})"), line=line, now=now,
                               key=f"{DiscrepancyKind.UNMATCHED_INCOME}:line:{line.id}:reversal:{len(history)}")
        await record(actor_id, AuditAction.STATEMENT_MATCH_REVERSED, Target("statement_line", line.id),
                     {"matches": [m["match_id"] for m in undone], "method": str(method),
                      "payments_reversed": [m["payment_id"] for m in undone if m["payment_reversed"]]}, now)
    log.info("statement line %s: match reversed by %s (%s)", line_id, actor_id, note)
    return await StatementLine.get(id=line_id)


def _need_reason(reason: str | None) -> str:
    if not reason or len(reason.strip()) < 2:
        raise ValidationFailed("a decision needs a reason", code="REASON_REQUIRED")
    return reason.strip()[:500]


# --------------------------------------------------------------------------------------------- discrepancies


async def scan_paid_without_line(*, now: datetime, cfg: ReconciliationConfig = DEFAULT_CONFIG) -> int:
    """Payments recorded by hand as arriving through a channel whose statements cover their date, that no
    statement line confirms: the seed's 系统里有记录,财务却没收到."""
    found = 0
    for source, method in CHANNEL_METHOD.items():
        coverage = await _coverage(source)
        if not coverage:
            continue
        linked = set(await ReconciliationMatch.filter(status__in=[MatchStatus.APPLIED, MatchStatus.PROPOSED],
                                                      payment_id__not_isnull=True).values_list("payment_id", flat=True))
        for building_id, (low, high) in coverage.items():
            qs = Payment.filter(source__in=list(HAND_SOURCES), method=method, paid_at__gte=low,
                                paid_at__lte=high - timedelta(days=cfg.paid_check_days))
            if building_id is not None:
                qs = qs.filter(building_id=building_id)
            for payment in await qs:
                if payment.id in linked:
                    continue
                first = await _first_receivable_of(payment.id)
                finding = Finding(DiscrepancyKind.PAID_WITHOUT_BANK_LINE, payment.amount_fen, None,
                                  f"payment {payment.id} of {fen(payment.amount_fen)} recorded by hand as "
                                  f"{method} on {payment.paid_at.date()} (payer {payment.payer_name or '-'}), but no "
                                  f"{source} statement line between {low.date()} and {high.date()} is that money",
                                  first, payment.lease_id, payment.building_id)
                if await open_discrepancy(finding, line=None, payment_id=payment.id, now=now) is not None:
                    found += 1
    return found


async def _coverage(source: StatementSource) -> dict[int | None, tuple[datetime, datetime]]:
    """Per building (None: the portfolio's own account, covering every building), the statements' period."""
    out: dict[int | None, tuple[datetime, datetime]] = {}
    buildings = await StatementLine.filter(source=source).distinct().values_list("building_id", flat=True)
    for building_id in set(cast(list[int | None], buildings)):
        first = await StatementLine.filter(source=source, building_id=building_id).order_by("booked_at").first()
        last = await StatementLine.filter(source=source, building_id=building_id).order_by("-booked_at").first()
        if first and last:
            out[building_id] = (first.booked_at, last.booked_at)
    return out


async def resolve_discrepancy(discrepancy_id: int, *, action: str, reason: str, actor_id: int, now: datetime,
                              lease_id: int | None = None, receivable_id: int | None = None,
                              line_id: int | None = None) -> Discrepancy:
    """Confirm, dismiss or reassign an open item, with who, when and why. Reassigning applies the item's line to
    another lease (its receivable first), or ties a hand-recorded payment to the line that is its money."""
    note = _need_reason(reason)
    status = {"confirm": DiscrepancyStatus.CONFIRMED, "dismiss": DiscrepancyStatus.DISMISSED,
              "reassign": DiscrepancyStatus.REASSIGNED}[action]
    async with in_transaction():
        item = await Discrepancy.select_for_update().get_or_none(id=discrepancy_id)
        if item is None:
            raise NotFound("discrepancy not found")
        if item.status != DiscrepancyStatus.OPEN:
            raise InvalidTransition("discrepancy", item.status, status, [DiscrepancyStatus.OPEN])
        details = dict(item.details)
        if status == DiscrepancyStatus.REASSIGNED:
            details["reassigned"] = await _reassign(item, lease_id=lease_id, receivable_id=receivable_id,
                                                    line_id=line_id, actor_id=actor_id, note=note, now=now)
        await Discrepancy.filter(id=item.id).update(status=status, resolved_by_id=actor_id, resolved_at=now,
                                                    resolution_note=note, details=details)
    return await Discrepancy.get(id=discrepancy_id)


async def _reassign(item: Discrepancy, *, lease_id: int | None, receivable_id: int | None, line_id: int | None,
                    actor_id: int, note: str, now: datetime) -> dict[str, Any]:
    if item.kind == DiscrepancyKind.PAID_WITHOUT_BANK_LINE:
        if line_id is None:
            raise ValidationFailed("name the statement line that is this payment", code="LINE_REQUIRED")
        line = await StatementLine.get_or_none(id=line_id, direction=Direction.IN)
        payment = await Payment.get(id=item.payment_id)
        if line is None or line.status not in (LineStatus.UNMATCHED, LineStatus.PROPOSED):
            raise ValidationFailed("that line is not open income", code="LINE_NOT_OPEN", details={"line_id": line_id})
        if line.amount_fen != payment.amount_fen:
            raise ValidationFailed("the line's amount differs from the payment's", code="AMOUNT_DIFFERS",
                                   details={"line_fen": line.amount_fen, "payment_fen": payment.amount_fen})
        await ReconciliationMatch.filter(line_id=line.id, status=MatchStatus.PROPOSED).update(
            status=MatchStatus.REJECTED, decided_by_id=actor_id, decided_at=now)
        await ReconciliationMatch.create(line_id=line.id, lease_id=payment.lease_id, building_id=payment.building_id,
                                         receivable_id=await _first_receivable_of(payment.id),
                                         amount_fen=line.amount_fen, rule=MatchRule.MANUAL, confidence=100,
                                         status=MatchStatus.APPLIED, explanation=f"assigned by hand: {note}"[:1000],
                                         payment_id=payment.id, decided_by_id=actor_id, decided_at=now)
        await StatementLine.filter(id=line.id).update(status=LineStatus.MATCHED, allocated_fen=line.amount_fen)
        return {"line_id": line.id, "payment_id": payment.id}
    if item.line_id is None:
        raise ValidationFailed("this item has no statement line to reassign", code="NOTHING_TO_REASSIGN")
    line = await StatementLine.select_for_update().get(id=item.line_id)
    if line.status not in (LineStatus.UNMATCHED, LineStatus.PROPOSED):
        raise Conflict("the line is already applied to the ledger: reverse that payment first",
                       code="LINE_ALREADY_APPLIED", details={"line_id": line.id, "status": line.status})
    receivable = None
    if receivable_id is not None:
        receivable = await Receivable.get_or_none(id=receivable_id)
        if receivable is None:
            raise ValidationFailed("unknown receivable", code="RECEIVABLE_NOT_FOUND")
        lease_id = receivable.lease_id
    if lease_id is None:
        raise ValidationFailed("name the lease or receivable the money belongs to", code="TARGET_REQUIRED")
    lease = await Lease.get_or_none(id=lease_id).select_related("unit")
    if lease is None:
        raise ValidationFailed("unknown lease", code="LEASE_NOT_FOUND")
    await ReconciliationMatch.filter(line_id=line.id, status=MatchStatus.PROPOSED).update(
        status=MatchStatus.REJECTED, decided_by_id=actor_id, decided_at=now)
    amount = line.amount_fen - line.allocated_fen
    match = await ReconciliationMatch.create(
        line_id=line.id, lease_id=lease.id, building_id=lease.unit.building_id,
        receivable_id=receivable.id if receivable else None, amount_fen=amount, rule=MatchRule.MANUAL,
        confidence=100, status=MatchStatus.PROPOSED, explanation=f"assigned by hand: {note}"[:1000],
        details={"allocations": [{"receivable_id": receivable.id if receivable else None, "amount_fen": amount}]})
    await StatementLine.filter(id=line.id).update(status=LineStatus.PROPOSED)
    applied = await apply_line(line.id, now=now, actor_id=actor_id)
    return {"line_id": applied.id, "lease_id": lease.id, "receivable_id": receivable.id if receivable else None,
            "match_id": match.id}


# --------------------------------------------------------------------------------------------- views


def serialize_line(line: StatementLine) -> dict[str, Any]:
    return {"id": line.id, "import_id": line.statement_import_id, "building_id": line.building_id,
            "source": line.source, "format": line.format_name, "serial": line.serial, "row": line.row_number,
            "booked_at": line.booked_at.isoformat(), "direction": line.direction, "amount_fen": line.amount_fen,
            "balance_fen": line.balance_fen, "counterparty_name": line.counterparty_name,
            "counterparty_account": line.counterparty_account, "reference": line.reference, "status": line.status,
            "allocated_fen": line.allocated_fen, "explanation": line.explanation}


def serialize_match(match: ReconciliationMatch) -> dict[str, Any]:
    return {"id": match.id, "line_id": match.line_id, "lease_id": match.lease_id, "building_id": match.building_id,
            "receivable_id": match.receivable_id, "amount_fen": match.amount_fen, "rule": match.rule,
            "confidence": match.confidence, "status": match.status, "explanation": match.explanation,
            "details": match.details, "payment_id": match.payment_id, "decided_by": match.decided_by_id,
            "decided_at": match.decided_at.isoformat() if match.decided_at else None}


def serialize_discrepancy(item: Discrepancy) -> dict[str, Any]:
    return {"id": item.id, "kind": item.kind, "status": item.status, "building_id": item.building_id,
            "line_id": item.line_id, "receivable_id": item.receivable_id, "payment_id": item.payment_id,
            "lease_id": item.lease_id, "amount_fen": item.amount_fen, "expected_fen": item.expected_fen,
            "explanation": item.explanation, "details": item.details, "detected_at": item.detected_at.isoformat(),
            "resolved_by": item.resolved_by_id,
            "resolved_at": item.resolved_at.isoformat() if item.resolved_at else None,
            "resolution_note": item.resolution_note}


def serialize_import(record: StatementImport) -> dict[str, Any]:
    return {"id": record.id, "format": f"{record.format_name}@{record.format_version}" if record.format_version
            else record.format_name, "source": record.source, "filename": record.filename,
            "building_id": record.building_id, "status": record.status, "imported_at": record.imported_at.isoformat(),
            "imported_by": record.imported_by_id, "lines_read": record.lines_read, "lines_new": record.lines_new,
            "lines_duplicate": record.lines_duplicate, "error_code": record.error_code or None,
            "error_details": record.error_details, "summary": record.summary}


__all__ = ["ParsedStatement", "ReconciliationConfig", "import_statement", "reconcile", "apply_line", "reject_line",
           "reverse_line",
           "resolve_discrepancy", "scan_paid_without_line", "feed_status"]
