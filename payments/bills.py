"""The daily WeChat Pay trade bill (交易账单) as one more statement source of the reconciliation.

Per past local day (from ``bill_ready_hour`` the next day, ``bill_lookback_days`` back): apply for the bill,
download it, verify its hash (of the un-gzipped file, as WeChat Pay computes it), and import it through
``reconciliation.service.import_statement`` (format ``wechat_pay_trade_bill@1``). Its lines confirm the payments
our notifications recorded (reconciliation.service.confirm_channel_payments); a SUCCESS line of one of our orders
that nothing recorded is applied first, as the notification would have (``paid_via = BILL``); an order we hold as
paid that the bill does not show opens PAID_WITHOUT_BANK_LINE. A day that cannot be fetched, verified or read is
FAILED: retried with backoff and alerted — never taken as a day without payments."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import zlib
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from alerts.choices import AlertSeverity
from alerts.service import open_key, raise_alert
from models.alerts import Alert
from models.leasing import Payment
from models.payments import WechatPayBill, WechatPayOrder
from payments.choices import ALERT_BILL_FAILED, BillStatus, OrderStatus, PaySource, TradeState
from payments.client import PayConfig, call_pay
from payments.service import apply_transaction
from reconciliation.choices import Direction, DiscrepancyKind
from reconciliation.matching import Finding
from reconciliation.reader import StatementRefused, read_statement
from reconciliation.service import ReconciliationConfig, import_statement, open_discrepancy

log = logging.getLogger("rentwatch.payments")

BILL_FORMAT = "wechat_pay_trade_bill@1"
MAX_BILL_BYTES = 64 * 1024 * 1024  # un-gzipped; a bill this large is refused rather than read into memory
MAX_BACKOFF = timedelta(hours=24)


class BillFailed(Exception):
    """The day's bill could not be had: why (kept on the day's row and in the alert)."""


def due_days(now: datetime, cfg: PayConfig) -> list[date]:
    """Past local days whose bill should exist by now (oldest first)."""
    tz = ZoneInfo(cfg.timezone)
    local = now.astimezone(tz)
    days = []
    for back in range(cfg.bill_lookback_days, 0, -1):
        day = local.date() - timedelta(days=back)
        if local >= datetime.combine(day + timedelta(days=1), time(cfg.bill_ready_hour), tz):
            days.append(day)
    return days


def backoff(attempts: int, cfg: PayConfig) -> timedelta:
    return min(MAX_BACKOFF, timedelta(minutes=cfg.bill_retry_minutes * 2 ** max(0, attempts - 1)))


def verify_bill(raw: bytes, hash_type: str, hash_value: str) -> bytes:
    """The bill's text bytes: un-gzipped (when gzip) and checked against WeChat Pay's digest."""
    data = raw
    if raw[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as exc:
            raise BillFailed(f"the bill is not a readable gzip file: {exc}") from exc
    if len(data) > MAX_BILL_BYTES:
        raise BillFailed("the bill is larger than we read")
    name = hash_type.lower()
    if name not in ("sha1", "sha256", "sm3") or not hash_value:
        raise BillFailed(f"unknown hash {hash_type!r}")
    if hashlib.new(name, data).hexdigest().lower() != hash_value.lower():
        raise BillFailed(f"the bill's {hash_type} does not match WeChat Pay's: download corrupted or altered")
    return data


async def fetch_due_bills(*, now: datetime, cfg: PayConfig, client: Any, rcfg: ReconciliationConfig
                          ) -> dict[str, int]:
    """Fetch every due day not imported yet (FAILED ones once their backoff has passed)."""
    counts = {"imported": 0, "empty": 0, "failed": 0, "waiting": 0}
    days = due_days(now, cfg)
    rows = {row.bill_date: row for row in await WechatPayBill.filter(bill_date__in=days)}
    for day in days:
        row = rows.get(day)
        if row is not None and row.status in (BillStatus.IMPORTED, BillStatus.EMPTY):
            continue
        if row is not None and row.next_attempt_at is not None and row.next_attempt_at > now:
            counts["waiting"] += 1
            continue
        status = (await fetch_bill(day, now=now, cfg=cfg, client=client, rcfg=rcfg)).status
        counts[{BillStatus.IMPORTED: "imported", BillStatus.EMPTY: "empty"}.get(BillStatus(status), "failed")] += 1
    return counts


async def fetch_bill(day: date, *, now: datetime, cfg: PayConfig, client: Any,
                     rcfg: ReconciliationConfig) -> WechatPayBill:
    row, _ = await WechatPayBill.get_or_create(bill_date=day, defaults={"status": BillStatus.FAILED})
    attempts = row.attempts + 1
    try:
        status, values = await _fetch(day, now=now, cfg=cfg, client=client, rcfg=rcfg)
    except BillFailed as exc:
        reason = str(exc)[:300]
        await WechatPayBill.filter(id=row.id).update(status=BillStatus.FAILED, attempts=attempts, last_error=reason,
                                                     last_attempt_at=now, next_attempt_at=now + backoff(attempts, cfg))
        log.warning("WeChat Pay trade bill of %s not imported (attempt %s): %s", day, attempts, reason)
        await raise_alert(alert_type=ALERT_BILL_FAILED, now=now, subject=f"bill:{day.isoformat()}",
                          severity=AlertSeverity.WARNING if attempts < 3 else AlertSeverity.CRITICAL,
                          explanation=f"WeChat Pay trade bill of {day} not imported (attempt {attempts}): {reason}",
                          evidence={"bill_date": day.isoformat(), "attempts": attempts, "reason": reason})
        return await WechatPayBill.get(id=row.id)
    await WechatPayBill.filter(id=row.id).update(status=status, attempts=attempts, last_error="", last_attempt_at=now,
                                                 next_attempt_at=None, **values)
    await Alert.filter(open_key=open_key(ALERT_BILL_FAILED, None, f"bill:{day.isoformat()}")).update(
        status="CLEARED", open_key=None, resolved_at=now, resolution_note="the trade bill was imported")
    return await WechatPayBill.get(id=row.id)


async def _fetch(day: date, *, now: datetime, cfg: PayConfig, client: Any, rcfg: ReconciliationConfig
                 ) -> tuple[BillStatus, dict[str, Any]]:
    try:
        applied = await call_pay(lambda: client.trade_bill(bill_date=day.isoformat(), bill_type="ALL",
                                                           tar_type="GZIP"))
    except Exception as exc:  # noqa: BLE001 - unreachable or unverifiable: this day failed, the job goes on
        raise BillFailed(f"bill application failed: {exc}") from exc
    if applied.code == "NO_STATEMENT_EXIST":
        paid = await _paid_orders(day, cfg)
        if paid:
            raise BillFailed(f"WeChat Pay has no bill but we recorded {len(paid)} payment(s) that day")
        return BillStatus.EMPTY, {"summary": {"wechat": "NO_STATEMENT_EXIST"}}
    url = str(applied.data.get("download_url") or "")
    if not applied.ok or not url:
        raise BillFailed(f"bill application answered {applied.status} {applied.code or applied.data}"[:300])
    hash_type, hash_value = str(applied.data.get("hash_type", "")), str(applied.data.get("hash_value", ""))
    try:
        status, raw = await asyncio.to_thread(client.download_bill, url)
    except Exception as exc:  # noqa: BLE001 - network or SDK failure of the download
        raise BillFailed(f"bill download failed: {exc}") from exc
    if not 200 <= int(status) < 300 or not isinstance(raw, bytes | str):
        raise BillFailed(f"bill download answered {status}")
    data = verify_bill(raw if isinstance(raw, bytes) else raw.encode(), hash_type, hash_value)
    try:
        parsed = read_statement(data, formats=rcfg.formats, filename=f"wechatpay-{day}.csv", wanted=BILL_FORMAT,
                                timezone=rcfg.timezone)
    except StatementRefused as exc:
        raise BillFailed(f"the bill does not read as {BILL_FORMAT}: {exc.code}") from exc
    missing = await _apply_unrecorded(parsed.lines, now=now, cfg=cfg)
    try:
        result = await import_statement(data, filename=f"wechatpay-tradebill-{day}.csv", now=now, cfg=rcfg,
                                        wanted=BILL_FORMAT)
    except StatementRefused as exc:
        raise BillFailed(f"the reconciliation refused the bill: {exc.code}") from exc
    serials = {line.serial for line in parsed.lines if line.direction == Direction.IN}
    absent = await _paid_without_line(day, serials, cfg=cfg, now=now)
    return BillStatus.IMPORTED, {"hash_type": hash_type[:10], "hash_value": hash_value[:64],
                                 "statement_import_id": result["import_id"],
                                 "summary": {"lines": len(parsed.lines), "applied_from_bill": missing,
                                             "paid_without_line": absent, "reconcile": result.get("reconcile")}}


async def _apply_unrecorded(lines: list, *, now: datetime, cfg: PayConfig) -> int:
    """SUCCESS lines of our orders that no notification or query recorded: applied from the bill."""
    incoming = {line.reference.split()[0]: line for line in lines
                if line.direction == Direction.IN and line.reference.strip()}
    if not incoming:
        return 0
    orders = await WechatPayOrder.filter(out_trade_no__in=list(incoming), transaction_id__isnull=True)
    for order in orders:
        line = incoming[order.out_trade_no]
        row = line.source_row or {}
        await apply_transaction({"mchid": str(row.get("商户号") or cfg.mchid).lstrip("`"),
                                 "appid": str(row.get("公众账号ID") or cfg.appid).lstrip("`"),
                                 "out_trade_no": order.out_trade_no, "transaction_id": line.serial,
                                 "trade_state": TradeState.SUCCESS, "success_time": line.booked_at.isoformat(),
                                 "amount": {"total": line.amount_fen, "currency": "CNY"}},
                                via=PaySource.BILL, now=now, cfg=cfg)
    return len(orders)


async def _paid_orders(day: date, cfg: PayConfig) -> list[WechatPayOrder]:
    tz = ZoneInfo(cfg.timezone)
    start = datetime.combine(day, time(0), tz)
    return await WechatPayOrder.filter(status=OrderStatus.PAID, paid_at__gte=start,
                                       paid_at__lt=start + timedelta(days=1))


async def _paid_without_line(day: date, serials: set[str], *, cfg: PayConfig, now: datetime) -> int:
    """Orders we hold as paid that day whose transaction the bill does not list (系统里有记录,财务却没收到)."""
    opened = 0
    for order in await _paid_orders(day, cfg):
        if order.transaction_id in serials:
            continue
        payment_ids = cast(list[int], await Payment.filter(
            external_ref__startswith=f"wechatpay:{order.transaction_id}:").order_by("id").values_list("id", flat=True))
        item = order.items[0]
        created = await open_discrepancy(
            Finding(DiscrepancyKind.PAID_WITHOUT_BANK_LINE, order.paid_fen or order.amount_fen, None,
                    f"WeChat Pay transaction {order.transaction_id} (order {order.out_trade_no}) is not in the "
                    f"trade bill of {day}", lease_id=item["lease_id"], building_id=item["building_id"]),
            line=None, now=now, payment_id=payment_ids[0] if payment_ids else None,
            key=f"{DiscrepancyKind.PAID_WITHOUT_BANK_LINE}:wechatpay:{order.transaction_id}")
        opened += int(created is not None)
    return opened
