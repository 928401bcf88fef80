"""Offline sync: up to 200 items (status reports and confirmations) captured offline, in any order.

Items are applied in ``captured_at`` order (so per unit too), each with its own result. Reports without photos
are decided one by one and stored many at once (one transaction: all or, on failure, each again on its own);
every other item has its own transaction. Idempotency is the database's job: ``client_id`` is unique, so a replay
or a racing identical batch yields DUPLICATE (the original result), never a second write.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
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
from inspections.service import (
    ClientIdReused,
    FixHistory,
    Outcome,
    PreparedReport,
    Site,
    decide,
    load_sites,
    prepare_report_without_photos,
    report_for,
    store_prepared_reports,
    submit_report,
)
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


def _parse(items: list[Any], results: list[dict | None]) -> list[tuple[int, StatusReportIn | DecisionIn]]:
    """The items that validate (in order, with their index); a bad one gets its REJECTED result here."""
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
    return parsed


async def apply_batch(principal: Principal, items: list[Any], *, settings: Settings, now: datetime,
                      store_together: bool = True) -> dict:
    """Every item's result, in item order. ``store_together=False`` gives each report its own transaction
    (the path before reports were stored together; the benchmark compares the two)."""
    results: list[dict | None] = [None] * len(items)
    parsed = _parse(items, results)
    # In capture order — so per unit too, and the travel check sees the user's fixes as it would have, had they
    # been sent one by one when captured (reports before confirmations captured at the same instant).
    parsed.sort(key=lambda p: (p[1].location.captured_at, p[1].kind != "status_report", _unit_key(p[1]), p[0]))
    reports = [m for _, m in parsed if isinstance(m, StatusReportIn)]
    history = FixHistory(principal.user_id)
    if parsed:
        times = [m.location.captured_at for _, m in parsed]
        history = await FixHistory.load(principal.user_id, min(times), max(times))
    # The batch's reports stored before it (a replay), read at once: each such item's DUPLICATE (or CONFLICT)
    # comes from here instead of a read of its own.
    stored = {r.client_id: r for r in await StatusReport.filter(client_id__in=[m.client_id for m in reports])} \
        if reports else {}
    seen: set[Any] = set(stored)
    photo_ids = {p for m in reports for p in m.photo_ids}
    known_photos: set = set()
    if photo_ids:
        known_photos = set(await Photo.filter(id__in=list(photo_ids)).values_list("id", flat=True))
    # The units, loaded at once; each entry serves only the first item of its unit that may change it (popped
    # after every such item: a later item of the same unit reads the unit again, as the earlier one may have
    # changed it). A report without photos changes no unit: it keeps the entry.
    sites = await load_sites(sorted({_unit_key(m) for m in reports} - {""}))
    run = _Run(principal, settings, now, results, history, seen, known_photos, sites, stored)
    for index, model in parsed:
        if store_together and isinstance(model, StatusReportIn) and not model.photo_ids \
                and model.client_id not in seen:
            await run.prepare(index, model)
        else:
            await run.flush()
            await run.apply_one(index, model, maybe_duplicate=model.client_id in seen)
    await run.flush()
    summary = Counter(r["result"] for r in results if r)
    return {"results": results, "summary": dict(summary)}


@dataclass
class _Run:
    """One batch being applied. Reports without photos (most of a batch) are checked and decided one by one as
    if sent alone, then stored many at once: before any other item (which may read what they wrote) and at the
    end. Should that store fail (a racing request stored one of their client_ids), nothing of it is written and
    each is applied again on its own, from the travel history as it was before them."""

    principal: Principal
    settings: Settings
    now: datetime
    results: list[dict | None]
    history: FixHistory
    seen: set[Any]
    known_photos: set
    sites: dict[str, Site]
    # The stored reports read at the batch's start, by client_id; dropped once a confirmation was applied (it
    # may change a stored report: a duplicate after it reads its report again, as it would have alone).
    stored: dict[Any, StatusReport]
    pending: list[tuple[int, StatusReportIn, PreparedReport]] = field(default_factory=list)
    before_pending: tuple = ()

    async def prepare(self, index: int, model: StatusReportIn) -> None:
        if not self.pending:
            self.before_pending = self.history.snapshot()
        try:
            prepared = await prepare_report_without_photos(self.principal, model, settings=self.settings,
                                                           now=self.now, history=self.history, sites=self.sites)
        except AppError as exc:  # refused: nothing would have been written
            self.results[index] = {**_base(index, model), "result": SyncResult.REJECTED, "error": _error(exc)}
            return
        except Exception as exc:  # noqa: BLE001 - as an item that failed on its own
            log.exception("sync item %s (%s) failed", index, model.client_id)
            self.results[index] = {**_base(index, model), **_failed(exc)}
            return
        self.seen.add(model.client_id)
        self.pending.append((index, model, prepared))

    async def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        try:
            await store_prepared_reports([p for _, _, p in batch])
        except Exception:  # noqa: BLE001 - retried item by item: each gets its exact result
            log.info("storing %d sync reports at once failed; applying them one by one", len(batch), exc_info=True)
            self.history.restore(self.before_pending)
            for index, model, _ in batch:
                await self.apply_one(index, model, maybe_duplicate=True)
            return
        for index, model, prepared in batch:
            outcome = Outcome(str(prepared.report.state), report=prepared.report, status=201)
            self.results[index] = {**_base(index, model), **outcome.as_dict()}

    async def apply_one(self, index: int, model: StatusReportIn | DecisionIn, *, maybe_duplicate: bool) -> None:
        """One item in its own transaction (or several: a decision may expire the report first)."""
        base = _base(index, model)
        try:
            if isinstance(model, StatusReportIn):
                outcome = await submit_report(self.principal, model, settings=self.settings, now=self.now,
                                              via_sync=True, history=self.history, known_photos=self.known_photos,
                                              maybe_duplicate=maybe_duplicate, sites=self.sites,
                                              existing=self.stored.get(model.client_id))
                self.seen.add(model.client_id)
            else:
                self.stored.clear()
                report = await report_for(self.principal, model.report_id, model.report_client_id)
                outcome = await decide(self.principal, report, model, settings=self.settings, now=self.now,
                                       history=self.history)
            self.results[index] = {**base, **outcome.as_dict()}
        except ClientIdReused as exc:
            self.results[index] = {**base, "result": SyncResult.CONFLICT, "error": _error(exc)}
        except AppError as exc:
            self.results[index] = {**base, "result": SyncResult.REJECTED, "error": _error(exc)}
        except Exception as exc:  # noqa: BLE001 - this item rolled back as a whole; the others go on
            log.exception("sync item %s (%s) failed", index, model.client_id)
            self.results[index] = {**base, **_failed(exc)}
        finally:
            self.sites.pop(_unit_key(model), None)


def _base(index: int, model: StatusReportIn | DecisionIn) -> dict:
    return {"index": index, "kind": model.kind, "client_id": str(model.client_id)}


def _failed(exc: Exception) -> dict:
    code = "DATABASE_ERROR" if _is_db_error(exc) else "INTERNAL_ERROR"
    return {"result": SyncResult.REJECTED,
            "error": {"code": code, "message": "the item could not be stored, retry later",
                      "details": {"type": type(exc).__name__}, "status": 500}}
