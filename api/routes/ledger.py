"""The portfolio's receivables ledger, waivers, and the schedule-generation failures list (in building scope)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import json

from api import responses as R
from api.access import access, body_of, principal_of, query_of
from core.errors import NotFound
from leasing import ledger
from leasing.config import LeasingConfig
from leasing.roles import LEDGER_READERS, WAIVE_APPROVERS
from leasing.schemas import FailuresQuery, LedgerQuery, WaiveIn
from models.accounts import User
from models.leasing import Receivable

bp = Blueprint("receivables", url_prefix="/receivables")
failures_bp = Blueprint("schedule_failures", url_prefix="/schedule-failures")


def cfg_of(request: Request) -> LeasingConfig:
    return LeasingConfig.from_settings(request.app.ctx.settings)


@bp.get("", name="receivables_list")
@access(LEDGER_READERS, query=LedgerQuery, response=R.ReceivablesList)
async def receivables(request: Request):
    """Receivables by building, lease, period and state (50 a page), with totals."""
    query = query_of(request, LedgerQuery)
    cfg = cfg_of(request)
    as_of = query.as_of or ledger.local_date(request.app.ctx.clock.now(), cfg)
    return json(await ledger.ledger_page(building_filter=principal_of(request).building_filter("building_id"),
                                         query=query, as_of=as_of, cfg=cfg))


@bp.post("/<receivable_id:int>/waive", name="receivables_waive")
@access(WAIVE_APPROVERS, note="the approving manager is the caller; a reason is required", body=WaiveIn,
        response=R.LeasesStatementReceivablesItem)
async def waive(request: Request, receivable_id: int):
    """Waive what is still open on a receivable, with a reason."""
    row = await Receivable.get_or_none(id=receivable_id)
    if row is None:
        raise NotFound("receivable not found")
    principal_of(request).require_building(row.building_id, "receivable")
    body = body_of(request, WaiveIn)
    approver = await User.get(id=principal_of(request).user_id)
    cfg = cfg_of(request)
    now = request.app.ctx.clock.now()
    row = await ledger.waive_receivable(row.id, reason=body.reason, approver=approver, now=now)
    return json(ledger.serialize_receivable(row, ledger.local_date(now, cfg), cfg))


@failures_bp.get("", name="schedule_failures_list")
@access(LEDGER_READERS, query=FailuresQuery, response=R.ScheduleFailuresList)
async def failures(request: Request):
    """Leases whose rent schedule could not be generated: error code, reason, attempts, next retry."""
    query = query_of(request, FailuresQuery)
    return json(await ledger.failures_page(building_filter=principal_of(request).building_filter("building_id"),
                                           query=query))
