"""Collections workbench (催收): overdue receivables, a tenant's history, contact notes and promises, 一键发送,
grace periods, late-fee clauses and waivers, tasks, ageing; the tenant's own messages and grace requests."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import json

from accounts.choices import Role
from accounts.permissions import (
    COLLECTIONS_READERS,
    COLLECTIONS_WRITERS,
    GRACE_APPROVERS,
    LATE_FEE_CLAUSE_WRITERS,
    LATE_FEE_WAIVERS,
    TENANTS,
)
from accounts.scope import get_in_scope
from api import responses as R
from api.access import access, body_of, principal_of, query_of
from arrears import workbench
from arrears.choices import RequestedVia, TaskStatus
from arrears.grace import decide_grace, request_grace, serialize_grace
from arrears.latefees import LateFeeClause
from arrears.service import ArrearsConfig, waive_late_fee
from core.errors import InvalidTransition, NotFound
from core.pagination import paginate
from leasing.service import lease_in_scope
from models.accounts import User
from models.arrears import CollectionMessage, CollectionTask, GracePeriod, LateFeeClauseRecord
from models.leasing import Receivable

bp = Blueprint("collections", url_prefix="/collections")
me_bp = Blueprint("me_collections", url_prefix="/me/collections")


def cfg_of(request: Request) -> ArrearsConfig:
    return ArrearsConfig.from_settings(request.app.ctx.settings)


def now_of(request: Request):
    return request.app.ctx.clock.now()


async def receivable_for(request: Request, receivable_id: int) -> Receivable:
    return await get_in_scope(principal_of(request), Receivable, receivable_id, "receivable")


@bp.get("/receivables", name="collections_receivables")
@access(COLLECTIONS_READERS, query=workbench.OverdueQuery, response=R.CollectionsReceivables)
async def overdue(request: Request):
    """Overdue receivables in the caller's buildings, by tier, building, city, assignee and amount."""
    query = query_of(request, workbench.OverdueQuery)
    cfg = cfg_of(request)
    as_of = query.as_of or cfg.local_date(now_of(request))
    return json(await workbench.overdue_page(building_filter=principal_of(request).building_filter(), query=query,
                                             cfg=cfg, as_of=as_of))


@bp.get("/summary", name="collections_summary")
@access(COLLECTIONS_READERS, query=workbench.SummaryQuery, response=R.CollectionsSummary)
async def summary(request: Request):
    """Totals and ageing buckets per building and city, average days overdue, 30-day collection rate."""
    query = query_of(request, workbench.SummaryQuery)
    as_of = query.as_of or cfg_of(request).local_date(now_of(request))
    return json(await workbench.summary(building_filter=principal_of(request).building_filter(), query=query,
                                        as_of=as_of))


@bp.get("/tenants/<tenant_id:int>", name="collections_tenant_history")
@access(COLLECTIONS_READERS, response=R.CollectionsTenantHistory)
async def tenant_history(request: Request, tenant_id: int):
    """A tenant's collections history: messages, contact notes and promises, tier steps, grace periods, tasks."""
    return json(await workbench.tenant_history(tenant_id, building_filter=principal_of(request).building_filter()))


@bp.post("/tenants/<tenant_id:int>/notes", name="collections_add_note")
@access(COLLECTIONS_WRITERS, note="a promise to pay (PROMISE) needs promised_date; the daily job judges it",
        body=workbench.NoteIn, response=R.CollectionsAddNote, status=201)
async def add_note(request: Request, tenant_id: int):
    """Record a call, a visit, a promise to pay (with a date) or a note."""
    body = body_of(request, workbench.NoteIn)
    lease = await lease_in_scope(principal_of(request), body.lease_id)
    note = await workbench.add_note(tenant_id, body, lease=lease, actor_id=principal_of(request).user_id,
                                    cfg=cfg_of(request), now=now_of(request))
    return json(workbench.serialize_note(note), status=201)


@bp.post("/receivables/<receivable_id:int>/send", name="collections_send")
@access(COLLECTIONS_WRITERS, note="once per tier and day; refused while a grace period runs",
        response=R.CollectionsSend,
        status=(200, 201))
async def send(request: Request, receivable_id: int):
    """一键发送: the current tier's template to the receivable's tenant."""
    row = await receivable_for(request, receivable_id)
    result = await workbench.send_now(row, cfg=cfg_of(request), now=now_of(request),
                                      actor_id=principal_of(request).user_id)
    return json(result, status=201 if result["sent"] else 200)


@bp.post("/leases/<lease_id:int>/grace", name="collections_request_grace")
@access(COLLECTIONS_WRITERS, body=workbench.GraceIn, response=R.CollectionsGraceApprove, status=201)
async def staff_grace(request: Request, lease_id: int):
    """Request a grace period on the tenant's behalf (the area manager decides)."""
    lease = await lease_in_scope(principal_of(request), lease_id)
    body = body_of(request, workbench.GraceIn)
    grace = await request_grace(lease, via=RequestedVia.STAFF, requested_by=principal_of(request).user_id,
                                cfg=cfg_of(request), now=now_of(request), days=body.days, reason=body.reason,
                                receivable_id=body.receivable_id)
    return json(serialize_grace(grace), status=201)


async def _decide(request: Request, grace_id: int, approve: bool):
    grace = await GracePeriod.get_or_none(id=grace_id)
    if grace is None:
        raise NotFound("grace period not found")
    principal_of(request).require_building(grace.building_id, "grace period")
    body = body_of(request, workbench.DecisionIn)
    decider = await User.get(id=principal_of(request).user_id)
    grace = await decide_grace(grace.id, approve=approve, decider=decider, cfg=cfg_of(request), now=now_of(request),
                               note=body.note)
    return json(serialize_grace(grace))


@bp.post("/grace/<grace_id:int>/approve", name="collections_grace_approve")
@access(GRACE_APPROVERS, note="the area manager of the building", body=workbench.DecisionIn,
        body_required=False, response=R.CollectionsGraceApprove)
async def approve_grace(request: Request, grace_id: int):
    """Approve a grace request: it runs from today for its days; no tier message meanwhile."""
    return await _decide(request, grace_id, True)


@bp.post("/grace/<grace_id:int>/reject", name="collections_grace_reject")
@access(GRACE_APPROVERS, body=workbench.DecisionIn, body_required=False, response=R.CollectionsGraceApprove)
async def reject_grace(request: Request, grace_id: int):
    """Reject a grace request (the tenant is told)."""
    return await _decide(request, grace_id, False)


@bp.put("/leases/<lease_id:int>/late-fee-clause", name="collections_late_fee_clause")
@access(LATE_FEE_CLAUSE_WRITERS,
        note="the contract's 违约金 clause; accrual follows it from the next run",
        body=LateFeeClause, response=R.CollectionsLateFeeClause)
async def set_clause(request: Request, lease_id: int):
    """Set the lease's late-fee clause: a daily rate with caps, a fixed amount, or none."""
    lease = await lease_in_scope(principal_of(request), lease_id)
    clause = body_of(request, LateFeeClause)
    stored = clause.model_dump(mode="json")
    record = await LateFeeClauseRecord.get_or_none(lease_id=lease.id)
    if record is None:
        await LateFeeClauseRecord.create(lease_id=lease.id, clause=stored, set_by_id=principal_of(request).user_id)
    else:
        await LateFeeClauseRecord.filter(id=record.id).update(clause=stored, set_by_id=principal_of(request).user_id)
    return json({"lease_id": lease.id, "clause": stored})


@bp.post("/receivables/<receivable_id:int>/late-fee/waive", name="collections_waive_late_fee")
@access(LATE_FEE_WAIVERS, note="the approving manager is the caller; a reason is required", body=workbench.ReasonIn,
        response=R.CollectionsWaiveLateFee)
async def waive(request: Request, receivable_id: int):
    """Waive the late fee of an overdue receivable (accrued and to come), with a reason."""
    row = await receivable_for(request, receivable_id)
    body = body_of(request, workbench.ReasonIn)
    approver = await User.get(id=principal_of(request).user_id)
    accrual = await waive_late_fee(row.id, reason=body.reason, approver=approver, now=now_of(request))
    return json({"receivable_id": row.id, "fee_fen": accrual.fee_fen, "waived_reason": accrual.waived_reason,
                 "waived_by": accrual.waived_by_id,
                 "waived_at": accrual.waived_at.isoformat() if accrual.waived_at else None})


@bp.get("/tasks", name="collections_tasks")
@access(COLLECTIONS_READERS, query=workbench.TaskQuery, response=R.CollectionsTasks)
async def tasks(request: Request):
    """Collections tasks in the caller's buildings (open ones by default)."""
    query = query_of(request, workbench.TaskQuery)
    qs = CollectionTask.filter(**principal_of(request).building_filter()).order_by("due_at", "id")
    if query.status:
        qs = qs.filter(status=query.status)
    if query.assignee_id:
        qs = qs.filter(assignee_id=query.assignee_id)
    if query.building_id:
        qs = qs.filter(building_id=query.building_id)
    return json(await paginate(qs, query, workbench.serialize_task))


@bp.post("/tasks/<task_id:int>/done", name="collections_task_done")
@access(COLLECTIONS_WRITERS, body=workbench.DecisionIn, body_required=False, response=R.CollectionsTaskDone)
async def task_done(request: Request, task_id: int):
    """Close a collections task (with a note)."""
    task = await CollectionTask.get_or_none(id=task_id)
    if task is None:
        raise NotFound("task not found")
    principal_of(request).require_building(task.building_id, "task")
    body = body_of(request, workbench.DecisionIn)
    now = now_of(request)
    won = await CollectionTask.filter(id=task.id, status=TaskStatus.OPEN).update(
        status=TaskStatus.DONE, closed_at=now, closed_by_id=principal_of(request).user_id, note=body.note)
    if won != 1:
        raise InvalidTransition("collections task", task.status, TaskStatus.DONE, [TaskStatus.OPEN.value])
    return json(workbench.serialize_task(await CollectionTask.get(id=task.id)))


@me_bp.get("/messages", name="me_collection_messages")
@access(TENANTS, response=R.MeCollectionMessages)
async def my_messages(request: Request):
    """The tenant's own collections messages."""
    principal = principal_of(request)
    rows = await CollectionMessage.filter(tenant_id=principal.tenant_id).order_by("-at", "-id").limit(200)
    return json({"items": [workbench.serialize_message(m, staff=False) for m in rows]})


@me_bp.post("/leases/<lease_id:int>/grace", name="me_request_grace")
@access([Role.TENANT], body=workbench.GraceIn, body_required=False, response=R.CollectionsGraceApprove, status=201)
async def my_grace(request: Request, lease_id: int):
    """The tenant asks for a grace period on their own lease (the area manager decides)."""
    lease = await lease_in_scope(principal_of(request), lease_id)
    body = body_of(request, workbench.GraceIn)
    grace = await request_grace(lease, via=RequestedVia.TENANT, requested_by=principal_of(request).user_id,
                                cfg=cfg_of(request), now=now_of(request), days=body.days, reason=body.reason,
                                receivable_id=body.receivable_id)
    return json(serialize_grace(grace), status=201)
