"""Bank reconciliation: statement imports, their lines and proposed matches, and the discrepancy list with its
decisions (finance and managers of the building; a statement of the portfolio's own account, with no building,
is seen by the portfolio-wide roles)."""

from __future__ import annotations

from pydantic import BaseModel, Field
from sanic import Blueprint, Request
from sanic.response import json

from accounts.permissions import RECONCILIATION_READERS, RECONCILIATION_WRITERS
from accounts.scope import Principal
from api import responses as R
from api.access import access, body_of, principal_of, query_of
from api.uploads import uploaded_file
from core.errors import NotFound, ValidationFailed
from core.pagination import PageQuery, paginate
from models.leasing import Lease, Receivable
from models.reconciliation import Discrepancy, ReconciliationMatch, StatementImport, StatementLine
from reconciliation import service
from reconciliation.choices import DiscrepancyKind, DiscrepancyStatus, LineStatus, MatchStatus

bp = Blueprint("statements", url_prefix="/statements")
discrepancies_bp = Blueprint("discrepancies", url_prefix="/discrepancies")


class ImportQuery(BaseModel):
    format: str | None = Field(None, max_length=60, description="name or name@version; omitted: recognised")
    building_id: int | None = None


class LinesQuery(PageQuery):
    status: LineStatus | None = None
    import_id: int | None = None
    building_id: int | None = None


class MatchesQuery(PageQuery):
    status: MatchStatus | None = MatchStatus.PROPOSED
    building_id: int | None = None


class DiscrepancyQuery(PageQuery):
    status: DiscrepancyStatus | None = DiscrepancyStatus.OPEN
    kind: DiscrepancyKind | None = None
    building_id: int | None = None


class FeedQuery(BaseModel):
    building_id: int | None = None


class ReasonIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


class ReassignIn(ReasonIn):
    lease_id: int | None = None
    receivable_id: int | None = None
    line_id: int | None = None


def cfg_of(request: Request) -> service.ReconciliationConfig:
    return service.ReconciliationConfig.from_settings(request.app.ctx.settings)


def scoped(qs, principal: Principal, building_id: int | None):
    """Rows of the caller's buildings (portfolio-wide roles also see the portfolio account's, building null)."""
    if building_id is not None:
        principal.require_building(building_id, "building")
        return qs.filter(building_id=building_id)
    return qs.filter(**principal.building_filter("building_id"))


def import_building(principal: Principal, building_id: int | None) -> int | None:
    if building_id is not None:
        principal.require_building(building_id, "building")
        return building_id
    if principal.building_ids is None:
        return None
    if len(principal.building_ids) == 1:
        return next(iter(principal.building_ids))
    raise ValidationFailed("name the building whose account this statement is", code="BUILDING_REQUIRED",
                           details={"fields": [{"field": "building_id"}]})


def require_visible(principal: Principal, building_id: int | None, what: str) -> None:
    if building_id is None:
        if principal.building_ids is not None:
            raise NotFound(f"{what} not found")
        return
    principal.require_building(building_id, what)


@bp.post("/import", name="statements_import")
@access(RECONCILIATION_WRITERS, note="bank CSV/XLSX, WeChat Pay or Alipay bill; an unknown layout is refused whole "
                                     "(422 UNKNOWN_STATEMENT_FORMAT); re-importing adds only new lines",
        query=ImportQuery, response=R.StatementsImport, status=(200, 201), files=("file",))
async def import_file(request: Request):
    """Import a statement: its new lines are stored and reconciled at once."""
    query = query_of(request, ImportQuery)
    principal = principal_of(request)
    building_id = import_building(principal, query.building_id)
    data, name, _ = uploaded_file(request, what="the statement file")
    report = await service.import_statement(data, filename=name, now=request.app.ctx.clock.now(), cfg=cfg_of(request),
                                            wanted=query.format, building_id=building_id,
                                            actor_id=principal.user_id)
    return json(report, status=201 if report["lines_new"] else 200)


@bp.get("/imports", name="statements_imports")
@access(RECONCILIATION_READERS, query=LinesQuery, response=R.StatementsImports)
async def imports(request: Request):
    """Imports, newest first: applied ones with their counts, refused ones with why."""
    query = query_of(request, LinesQuery)
    qs = scoped(StatementImport.all(), principal_of(request), query.building_id).order_by("-imported_at", "-id")
    return json(await paginate(qs, query, service.serialize_import))


@bp.get("/feed", name="statements_feed")
@access(RECONCILIATION_READERS, note="the last good import and whether a later one was refused (stale)",
        query=FeedQuery, response=R.StatementsFeed)
async def feed(request: Request):
    """What dashboards show: the last good statement data, marked stale after a refused import."""
    query = query_of(request, FeedQuery)
    require_visible(principal_of(request), query.building_id, "building")
    return json(await service.feed_status(query.building_id))


@bp.get("/lines", name="statements_lines")
@access(RECONCILIATION_READERS, query=LinesQuery, response=R.StatementsLines)
async def lines(request: Request):
    """Statement lines by status, import and building, with each decision's explanation."""
    query = query_of(request, LinesQuery)
    qs = scoped(StatementLine.all(), principal_of(request), query.building_id)
    if query.status:
        qs = qs.filter(status=query.status)
    if query.import_id:
        qs = qs.filter(statement_import_id=query.import_id)
    return json(await paginate(qs.order_by("booked_at", "id"), query, service.serialize_line))


async def line_for(request: Request, line_id: int) -> StatementLine:
    line = await StatementLine.get_or_none(id=line_id)
    if line is None:
        raise NotFound("statement line not found")
    require_visible(principal_of(request), line.building_id, "statement line")
    return line


@bp.get("/lines/<line_id:int>", name="statements_line")
@access(RECONCILIATION_READERS, response=R.StatementsLine)
async def line_detail(request: Request, line_id: int):
    """One line with its matches (proposed, applied, rejected)."""
    line = await line_for(request, line_id)
    matches = await ReconciliationMatch.filter(line_id=line.id).order_by("id")
    return json({**service.serialize_line(line), "matches": [service.serialize_match(m) for m in matches]})


@bp.post("/lines/<line_id:int>/confirm", name="statements_line_confirm")
@access(RECONCILIATION_WRITERS,
        note="applies the line's proposed matches to the ledger", response=R.StatementsLineConfirm)
async def confirm_line(request: Request, line_id: int):
    """Confirm the proposals of a line: the money is recorded on the leases they name."""
    line = await line_for(request, line_id)
    principal = principal_of(request)
    for match in await ReconciliationMatch.filter(line_id=line.id, status=MatchStatus.PROPOSED):
        principal.require_building(match.building_id, "statement line")
    line = await service.apply_line(line.id, now=request.app.ctx.clock.now(), actor_id=principal.user_id)
    return json(service.serialize_line(line))


@bp.post("/lines/<line_id:int>/reject", name="statements_line_reject")
@access(RECONCILIATION_WRITERS, note="a reason is required; the line becomes unmatched income", body=ReasonIn,
        response=R.StatementsLineReject)
async def reject_line(request: Request, line_id: int):
    """Reject a line's proposals, with a reason."""
    line = await line_for(request, line_id)
    body = body_of(request, ReasonIn)
    line = await service.reject_line(line.id, reason=body.reason, actor_id=principal_of(request).user_id,
                                     now=request.app.ctx.clock.now())
    return json(service.serialize_line(line))


@bp.post("/lines/<line_id:int>/reverse", name="statements_line_reverse")
@access(RECONCILIATION_WRITERS, note="a reason is required; undoes an applied match: the ledger payment reversed, "
                                    "the line unmatched income again (idempotent)", body=ReasonIn,
        response=R.StatementsLineReverse)
async def reverse_line(request: Request, line_id: int):
    """Undo a wrong match of a line already applied to the ledger, with a reason."""
    line = await line_for(request, line_id)
    principal = principal_of(request)
    for match in await ReconciliationMatch.filter(line_id=line.id, status__in=[MatchStatus.APPLIED,
                                                                               MatchStatus.REVERSED]):
        principal.require_building(match.building_id, "statement line")
    body = body_of(request, ReasonIn)
    line = await service.reverse_line(line.id, reason=body.reason, actor_id=principal.user_id,
                                      now=request.app.ctx.clock.now())
    return json(service.serialize_line(line))


@bp.get("/matches", name="statements_matches")
@access(RECONCILIATION_READERS, query=MatchesQuery, response=R.StatementsMatches)
async def matches(request: Request):
    """Matches by status (PROPOSED by default: what waits for a person), highest confidence first."""
    query = query_of(request, MatchesQuery)
    qs = scoped(ReconciliationMatch.all(), principal_of(request), query.building_id)
    if query.status:
        qs = qs.filter(status=query.status)
    return json(await paginate(qs.order_by("-confidence", "id"), query, service.serialize_match))


@discrepancies_bp.get("", name="discrepancies_list")
@access(RECONCILIATION_READERS, query=DiscrepancyQuery, response=R.DiscrepanciesList)
async def discrepancies(request: Request):
    """The discrepancy list (OPEN by default): each item stays until confirmed, reassigned or dismissed."""
    query = query_of(request, DiscrepancyQuery)
    qs = scoped(Discrepancy.all(), principal_of(request), query.building_id)
    if query.status:
        qs = qs.filter(status=query.status)
    if query.kind:
        qs = qs.filter(kind=query.kind)
    return json(await paginate(qs.order_by("detected_at", "id"), query, service.serialize_discrepancy))


async def decide(request: Request, discrepancy_id: int, action: str):
    item = await Discrepancy.get_or_none(id=discrepancy_id)
    if item is None:
        raise NotFound("discrepancy not found")
    principal = principal_of(request)
    require_visible(principal, item.building_id, "discrepancy")
    body = body_of(request, ReassignIn) if action == "reassign" else body_of(request, ReasonIn)
    target: dict = {}
    if isinstance(body, ReassignIn):
        if body.receivable_id is not None:
            receivable = await Receivable.get_or_none(id=body.receivable_id)
            if receivable is None:
                raise NotFound("receivable not found")
            principal.require_building(receivable.building_id, "receivable")
        if body.lease_id is not None:
            lease = await Lease.get_or_none(id=body.lease_id).select_related("unit")
            if lease is None:
                raise NotFound("lease not found")
            principal.require_building(lease.unit.building_id, "lease")
        if body.line_id is not None:
            await line_for(request, body.line_id)
        target = {"lease_id": body.lease_id, "receivable_id": body.receivable_id, "line_id": body.line_id}
    item = await service.resolve_discrepancy(item.id, action=action, reason=body.reason, actor_id=principal.user_id,
                                             now=request.app.ctx.clock.now(), **target)
    return json(service.serialize_discrepancy(item))


@discrepancies_bp.post("/<discrepancy_id:int>/confirm", name="discrepancies_confirm")
@access(RECONCILIATION_WRITERS, note="who, when and why are recorded", body=ReasonIn,
        response=R.DiscrepanciesConfirm)
async def confirm(request: Request, discrepancy_id: int):
    """Confirm the finding (e.g. the overpayment stays as the tenant's credit)."""
    return await decide(request, discrepancy_id, "confirm")


@discrepancies_bp.post("/<discrepancy_id:int>/dismiss", name="discrepancies_dismiss")
@access(RECONCILIATION_WRITERS, note="who, when and why are recorded", body=ReasonIn,
        response=R.DiscrepanciesDismiss)
async def dismiss(request: Request, discrepancy_id: int):
    """Dismiss the item as no problem, with the reason."""
    return await decide(request, discrepancy_id, "dismiss")


@discrepancies_bp.post("/<discrepancy_id:int>/reassign", name="discrepancies_reassign")
@access(RECONCILIATION_WRITERS, note="applies the item's line to another lease or receivable of the caller's "
                                     "buildings, or ties a hand-recorded payment to its line", body=ReassignIn,
        response=R.DiscrepanciesReassign)
async def reassign(request: Request, discrepancy_id: int):
    """Reassign: the money belongs to this lease / receivable (or this line is that payment)."""
    return await decide(request, discrepancy_id, "reassign")
