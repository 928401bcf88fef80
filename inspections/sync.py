"""Offline sync: up to 200 items (status reports and confirmations) captured offline, in any order.

Items are applied in ``captured_at`` order (so per unit too), each in its own transaction, each with its own result.
Idempotency is the database's job: ``client_id`` is unique, so a replay or a racing identical batch yields
DUPLICATE (the original result), never a second write.
"""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime
from typing import Any

from tortoise.exceptions import BaseORMException

from accounts.scope import Principal
from config.settings import Settings
from core.errors import AppError
from core.validation import validate
from inspections.choices import SyncResult
from inspections.qr import InvalidQr, parse_sticker
from inspections.schemas import DecisionIn, StatusReportIn
from inspections.service import ClientIdReused, FixHistory, decide, load_sites, report_for, submit_report
from models.inspections import Photo, StatusReport

log = logging.getLogger("rentwatch.inspections.sync")
KINDS: dict[str, type[StatusReportIn] | type[DecisionIn]] = {"status_report": StatusReportIn,
                                                              "confirmation": DecisionIn}


def _is_db_error(exc: Exception) -> bool:
    return isinstance(exc, BaseORMException) or type(exc).__module__.split(".")[0] in {"asyncpg", "sqlite3",
                                                                                       "aiosqlite"}


def _error(exc: AppError) -> dict:
    return {"code": exc.code, "message": exc.message, "details": exc.details, "status": exc.status}


def _unit_key(model) -> str:
    try:
        return parse_sticker(model.qr).unit_code
    except InvalidQr:
        return ""


async def apply_batch(principal: Principal, items: list[Any], *, settings: Settings, now: datetime) -> dict:
    results: list[dict | None] = [None] * len(items)
    parsed: list[tuple[int, StatusReportIn | DecisionIn]] = []
    for index, raw in enumerate(items):
        kind = raw.get("kind", "status_report") if isinstance(raw, dict) else None
        client_id = raw.get("client_id") if isinstance(raw, dict) else None
        # Any JSON may arrive here (``"kind": [1]``): echo only strings, so a bad item cannot break the batch.
        kind = kind if isinstance(kind, str) else None
        base = {"index": index, "kind": kind, "client_id": client_id if isinstance(client_id, str) else None}
        if kind not in KINDS:
            results[index] = {**base, "result": SyncResult.REJECTED,
                              "error": {"code": "VALIDATION_ERROR", "message": "unknown item kind",
                                        "details": {"kinds": sorted(KINDS)}, "status": 422}}
            continue
        try:
            parsed.append((index, validate(KINDS[kind], raw)))
        except AppError as exc:
            results[index] = {**base, "result": SyncResult.REJECTED, "error": _error(exc)}

    # In capture order — so per unit too, and the travel check sees the user's fixes as it would have, had they
    # been sent one by one when captured (reports before confirmations captured at the same instant).
    parsed.sort(key=lambda p: (p[1].location.captured_at, p[1].kind != "status_report", _unit_key(p[1]), p[0]))
    reports = [m for _, m in parsed if isinstance(m, StatusReportIn)]
    history = None
    known_photos: set = set()
    if parsed:
        times = [m.location.captured_at for _, m in parsed]
        history = await FixHistory.load(principal.user_id, min(times), max(times))
    seen: set[Any] = set(await StatusReport.filter(client_id__in=[m.client_id for m in reports])
               .values_list("client_id", flat=True)) if reports else set()
    photo_ids = {p for m in reports for p in m.photo_ids}
    if photo_ids:
        known_photos = set(await Photo.filter(id__in=list(photo_ids)).values_list("id", flat=True))
    # The units, loaded at once; each entry serves only the first item of its unit (popped after every item:
    # a later item of the same unit reads the unit again, as the earlier one may have changed it).
    sites = await load_sites(sorted({_unit_key(m) for m in reports} - {""}))
    for index, model in parsed:
        base = {"index": index, "kind": model.kind, "client_id": str(model.client_id)}
        try:
            if isinstance(model, StatusReportIn):
                outcome = await submit_report(principal, model, settings=settings, now=now, via_sync=True,
                                              history=history, known_photos=known_photos,
                                              maybe_duplicate=model.client_id in seen, sites=sites)
                seen.add(model.client_id)
            else:
                report = await report_for(principal, model.report_id, model.report_client_id)
                outcome = await decide(principal, report, model, settings=settings, now=now, history=history)
            results[index] = {**base, **outcome.as_dict()}
        except ClientIdReused as exc:
            results[index] = {**base, "result": SyncResult.CONFLICT, "error": _error(exc)}
        except AppError as exc:
            results[index] = {**base, "result": SyncResult.REJECTED, "error": _error(exc)}
        except Exception as exc:  # noqa: BLE001 - this item rolled back as a whole; the others go on
            log.exception("sync item %s (%s) failed", index, model.client_id)
            code = "DATABASE_ERROR" if _is_db_error(exc) else "INTERNAL_ERROR"
            results[index] = {**base, "result": SyncResult.REJECTED,
                              "error": {"code": code, "message": "the item could not be stored, retry later",
                                        "details": {"type": type(exc).__name__}, "status": 500}}
        finally:
            sites.pop(_unit_key(model), None)
    summary = Counter(r["result"] for r in results if r)
    return {"results": results, "summary": dict(summary)}

