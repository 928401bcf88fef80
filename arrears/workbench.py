"""The collections workbench: overdue receivables by tier, building, city, assignee and amount; a tenant's
history (messages, contact notes and promises, tier steps, grace periods, tasks); 一键发送 of the current tier;
totals and ageing buckets per building and city with the 30-day collection rate. Queries take the caller's
building filter (accounts.scope.Principal.building_filter)."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal, cast

from pydantic import BaseModel, Field, model_validator
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from arrears.choices import (
    AGEING_BUCKETS,
    ContactKind,
    MessageTrigger,
    PromiseStatus,
    TaskStatus,
    TierCode,
)
from arrears.grace import serialize_grace
from arrears.service import (
    DUNNED_TYPES,
    ArrearsConfig,
    active_grace_leases,
    current_tier,
    received_total,
    send_tier_message,
)
from arrears.tiers import days_past_due
from core.errors import Conflict, NotFound, ValidationFailed
from core.pagination import PageQuery
from leasing.choices import OPEN_RECEIVABLE_STATUSES, ReceivableStatus
from models.arrears import (
    CollectionMessage,
    CollectionStep,
    CollectionTask,
    ContactNote,
    GracePeriod,
    LateFeeAccrual,
)
from models.leasing import Lease, Receivable, Tenant
from models.portfolio import Building, City, Unit


class OverdueQuery(PageQuery):
    tier: TierCode | None = None
    building_id: int | None = Field(None, ge=1)
    city_id: int | None = Field(None, ge=1)
    assignee_id: int | None = Field(None, ge=1)
    min_outstanding_fen: int | None = Field(None, ge=0, le=10**13)
    max_outstanding_fen: int | None = Field(None, ge=0, le=10**13)
    as_of: date | None = None
    order: Literal["days", "amount"] = "days"


class SummaryQuery(BaseModel):
    building_id: int | None = Field(None, ge=1)
    city_id: int | None = Field(None, ge=1)
    as_of: date | None = None


class NoteIn(BaseModel):
    lease_id: int = Field(ge=1)
    receivable_id: int | None = Field(None, ge=1)
    kind: ContactKind
    note: str = Field("", max_length=1000)
    promised_date: date | None = None
    promised_fen: int | None = Field(None, ge=1, le=10**13)

    @model_validator(mode="after")
    def _promise(self) -> NoteIn:
        if self.kind == ContactKind.PROMISE and self.promised_date is None:
            raise ValueError("a promise to pay needs promised_date")
        if self.kind != ContactKind.PROMISE and (self.promised_date or self.promised_fen):
            raise ValueError("promised_date and promised_fen belong to a PROMISE")
        if self.kind != ContactKind.PROMISE and not self.note.strip():
            raise ValueError("a contact note needs its note")
        return self


class GraceIn(BaseModel):
    days: int | None = Field(None, ge=1, le=30)
    reason: str = Field("", max_length=500)
    receivable_id: int | None = Field(None, ge=1)


class DecisionIn(BaseModel):
    note: str = Field("", max_length=500)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


class TaskQuery(PageQuery):
    status: TaskStatus | None = TaskStatus.OPEN
    assignee_id: int | None = Field(None, ge=1)
    building_id: int | None = Field(None, ge=1)


def _overdue_qs(building_filter: dict[str, Any], as_of: date):
    return Receivable.filter(status__in=list(OPEN_RECEIVABLE_STATUSES), open_key__not_isnull=True,
                             due_date__lt=as_of, charge_type__in=list(DUNNED_TYPES), amount_fen__gt=0,
                             **building_filter)


async def overdue_page(*, building_filter: dict[str, Any], query: OverdueQuery, cfg: ArrearsConfig,
                       as_of: date) -> dict[str, Any]:
    qs = _overdue_qs(building_filter, as_of)
    if query.tier:
        tier = cfg.tiers.by_code(query.tier)
        qs = qs.filter(due_date__lte=as_of - timedelta(days=max(1, tier.min_days)))
        if tier.max_days is not None:
            qs = qs.filter(due_date__gte=as_of - timedelta(days=tier.max_days))
    if query.building_id:
        qs = qs.filter(building_id=query.building_id)
    if query.city_id:
        qs = qs.filter(building__city_id=query.city_id)
    if query.assignee_id:
        qs = qs.filter(collection_tasks__assignee_id=query.assignee_id, collection_tasks__status=TaskStatus.OPEN)
    qs = qs.annotate(outstanding=F("amount_fen") - F("paid_fen"))
    if query.min_outstanding_fen is not None:
        qs = qs.filter(outstanding__gte=query.min_outstanding_fen)
    if query.max_outstanding_fen is not None:
        qs = qs.filter(outstanding__lte=query.max_outstanding_fen)
    total = await qs.count()
    total_fen = sum(await qs.values_list("outstanding", flat=True))
    ordering = ("due_date", "id") if query.order == "days" else ("-outstanding", "due_date", "id")
    rows = await qs.order_by(*ordering).offset(query.offset).limit(query.page_size)
    return {"items": await serialize_overdue(rows, cfg, as_of), "total": total, "outstanding_fen": total_fen,
            "page": query.page, "page_size": query.page_size, "as_of": as_of.isoformat()}


async def serialize_overdue(rows: list[Receivable], cfg: ArrearsConfig, as_of: date) -> list[dict[str, Any]]:
    ids = [r.id for r in rows]
    lease_ids = sorted({r.lease_id for r in rows})
    leases = {lease.id: lease for lease in await Lease.filter(id__in=lease_ids)}
    units = dict(await Unit.filter(id__in=[lease.unit_id for lease in leases.values()]).values_list("id", "code"))
    tenants = {t.id: t for t in await Tenant.filter(id__in=sorted({r.tenant_id for r in rows}))}
    tasks = {t.receivable_id: t for t in await CollectionTask.filter(receivable_id__in=ids, status=TaskStatus.OPEN)}
    fees = dict(await LateFeeAccrual.filter(base_id__in=ids, waived_at__isnull=True).values_list("base_id",
                                                                                                   "fee_fen"))
    steps: dict[int, int] = {}
    for rid, level in await CollectionStep.filter(receivable_id__in=ids).values_list("receivable_id", "level"):
        steps[rid] = max(level, steps.get(rid, 0))
    graced = await active_grace_leases(lease_ids, as_of)
    promised = set(cast(list[int], await ContactNote.filter(lease_id__in=lease_ids,
                                                           promise_status=PromiseStatus.PENDING)
                        .values_list("lease_id", flat=True)))
    out = []
    for row in rows:
        lease = leases[row.lease_id]
        tier = current_tier(row, cfg, as_of)
        task = tasks.get(row.id)
        out.append({
            "receivable_id": row.id, "lease_id": row.lease_id, "contract_no": lease.contract_no,
            "unit_code": units.get(lease.unit_id), "building_id": row.building_id,
            "tenant": {"id": row.tenant_id, "name": tenants[row.tenant_id].name},
            "charge": row.charge, "label": row.label, "due_date": row.due_date.isoformat(),
            "days_past_due": days_past_due(row.due_date, as_of), "tier": tier.code if tier else None,
            "level": tier.level if tier else None, "handled_level": steps.get(row.id, 0),
            "amount_fen": row.amount_fen, "outstanding_fen": row.amount_fen - row.paid_fen,
            "late_fee_fen": fees.get(row.id, 0), "grace_active": row.lease_id in graced,
            "promise_pending": row.lease_id in promised,
            "task": {"id": task.id, "level": task.level, "assignee_id": task.assignee_id,
                     "due_at": task.due_at.isoformat()} if task else None})
    return out


def _bucket(days: int) -> str:
    return next(name for name, low, high in AGEING_BUCKETS if days >= low and (high is None or days <= high))


def _rate(collected: int, billed: int) -> str | None:
    if billed <= 0:
        return None
    return str((Decimal(collected) / Decimal(billed)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))


def _empty_group() -> dict[str, Any]:
    return {"overdue_count": 0, "overdue_fen": 0, "fen_days": 0,
            "buckets": {name: {"count": 0, "outstanding_fen": 0} for name, _, _ in AGEING_BUCKETS},
            "due_30d_fen": 0, "collected_30d_fen": 0}


def _finish(group: dict[str, Any]) -> dict[str, Any]:
    fen_days = group.pop("fen_days")
    group["average_days_overdue"] = (str((Decimal(fen_days) / Decimal(group["overdue_fen"])).quantize(
        Decimal("0.1"), rounding=ROUND_HALF_UP)) if group["overdue_fen"] else None)
    group["collection_rate_30d"] = _rate(group["collected_30d_fen"], group["due_30d_fen"])
    return group


async def summary(*, building_filter: dict[str, Any], query: SummaryQuery, as_of: date) -> dict[str, Any]:
    """Totals and ageing buckets (days past due 0–15/16–30/31–60/61–90/90+) per building, city and in all; the
    average age of what is overdue (weighted by amount); the 30-day collection rate: of what fell due in the 30
    days up to ``as_of`` (waived parts excluded), the share paid."""
    base = {**building_filter}
    if query.building_id:
        base["building_id"] = query.building_id
    if query.city_id:
        base["building__city_id"] = query.city_id
    overdue = await _overdue_qs(base, as_of).values_list("building_id", "due_date", "amount_fen", "paid_fen")
    window = await Receivable.filter(open_key__not_isnull=True, charge_type__in=list(DUNNED_TYPES),
                                     due_date__gt=as_of - timedelta(days=30), due_date__lte=as_of,
                                     **base).values_list("building_id", "amount_fen", "paid_fen", "status")
    groups: dict[int, dict[str, Any]] = defaultdict(_empty_group)
    for building_id, due, amount, paid in overdue:
        group = groups[building_id]
        days, open_fen = days_past_due(due, as_of), amount - paid
        group["overdue_count"] += 1
        group["overdue_fen"] += open_fen
        group["fen_days"] += open_fen * days
        bucket = group["buckets"][_bucket(days)]
        bucket["count"] += 1
        bucket["outstanding_fen"] += open_fen
    for building_id, amount, paid, status in window:
        group = groups[building_id]
        group["due_30d_fen"] += paid if status == ReceivableStatus.WAIVED else amount
        group["collected_30d_fen"] += paid
    buildings = {b["id"]: b for b in await Building.filter(id__in=list(groups)).values("id", "code", "name",
                                                                                         "city_id")}
    cities = {c["id"]: c for c in await City.filter(id__in=sorted({b["city_id"] for b in buildings.values()}))
              .values("id", "code", "name")}
    by_city: dict[int, dict[str, Any]] = defaultdict(_empty_group)
    total = _empty_group()
    for building_id, group in groups.items():
        for target in (by_city[buildings[building_id]["city_id"]], total):
            for key in ("overdue_count", "overdue_fen", "fen_days", "due_30d_fen", "collected_30d_fen"):
                target[key] += group[key]
            for name, bucket in group["buckets"].items():
                target["buckets"][name]["count"] += bucket["count"]
                target["buckets"][name]["outstanding_fen"] += bucket["outstanding_fen"]
    return {"as_of": as_of.isoformat(), "buckets": [name for name, _, _ in AGEING_BUCKETS],
            "total": _finish(total),
            "cities": [{**cities[cid], **_finish(group)} for cid, group in sorted(by_city.items())],
            "buildings": [{"id": bid, "code": buildings[bid]["code"], "name": buildings[bid]["name"],
                           "city_id": buildings[bid]["city_id"], **_finish(group)}
                          for bid, group in sorted(groups.items())]}


# --------------------------------------------------------------------------------------------- history


def serialize_message(m: CollectionMessage, *, staff: bool = True) -> dict[str, Any]:
    row = {"id": m.id, "receivable_id": m.receivable_id, "lease_id": m.lease_id, "level": m.level,
           "tier": m.tier_code, "channel": m.channel, "text": m.text, "at": m.at.isoformat()}
    if staff:
        row.update({"trigger": m.trigger, "recipient": m.recipient, "outbox_message_id": m.outbox_message_id,
                    "sent_by": m.sent_by_id})
    return row


def serialize_note(n: ContactNote) -> dict[str, Any]:
    return {"id": n.id, "lease_id": n.lease_id, "receivable_id": n.receivable_id, "kind": n.kind, "note": n.note,
            "actor": n.actor_id, "at": n.at.isoformat(),
            "promise": {"date": n.promised_date.isoformat() if n.promised_date else None, "amount_fen": n.promised_fen,
                        "status": n.promise_status,
                        "evaluated_at": n.evaluated_at.isoformat() if n.evaluated_at else None}
            if n.kind == ContactKind.PROMISE else None}


def serialize_task(t: CollectionTask) -> dict[str, Any]:
    return {"id": t.id, "receivable_id": t.receivable_id, "lease_id": t.lease_id, "tenant_id": t.tenant_id,
            "building_id": t.building_id, "level": t.level, "tier": t.tier_code, "title": t.title,
            "assignee_id": t.assignee_id, "status": t.status, "due_at": t.due_at.isoformat(),
            "opened_at": t.opened_at.isoformat(), "closed_at": t.closed_at.isoformat() if t.closed_at else None,
            "note": t.note}


async def tenant_history(tenant_id: int, *, building_filter: dict[str, Any]) -> dict[str, Any]:
    """Everything collections did with one tenant in the caller's buildings, newest first."""
    tenant = await Tenant.get_or_none(id=tenant_id)
    scoped = {k.replace("building_id", "unit__building_id"): v for k, v in building_filter.items()}
    lease_ids = await Lease.filter(tenant_id=tenant_id, **scoped).values_list("id", flat=True)
    if tenant is None or not lease_ids:
        raise NotFound("tenant not found")
    where = {"lease_id__in": list(lease_ids)}
    return {
        "tenant": {"id": tenant.id, "name": tenant.name, "kind": tenant.kind, "phone": tenant.phone},
        "lease_ids": sorted(lease_ids),
        "messages": [serialize_message(m) for m in await CollectionMessage.filter(**where).order_by("-at", "-id")],
        "notes": [serialize_note(n) for n in await ContactNote.filter(**where).order_by("-at", "-id")],
        "steps": [{"receivable_id": s.receivable_id, "level": s.level, "tier": s.tier_code, "status": s.status,
                   "days_past_due": s.days_past_due, "as_of": s.as_of.isoformat()}
                  for s in await CollectionStep.filter(**where).order_by("-at", "-id")],
        "grace_periods": [serialize_grace(g) for g in await GracePeriod.filter(**where).order_by("-id")],
        "tasks": [serialize_task(t) for t in await CollectionTask.filter(**where).order_by("-id")],
    }


async def add_note(tenant_id: int, body: NoteIn, *, lease: Lease, actor_id: int, cfg: ArrearsConfig,
                   now: datetime) -> ContactNote:
    if lease.tenant_id != tenant_id:
        raise NotFound("lease not found")
    if body.receivable_id is not None and not await Receivable.filter(id=body.receivable_id,
                                                                      lease_id=lease.id).exists():
        raise NotFound("receivable not found")
    if body.promised_date is not None and body.promised_date < cfg.local_date(now):
        raise ValidationFailed("a promise to pay is for today or later", code="PROMISE_IN_PAST",
                               details={"field": "promised_date", "value": body.promised_date.isoformat()})
    unit = await Unit.get(id=lease.unit_id)
    promise = body.kind == ContactKind.PROMISE
    return await ContactNote.create(
        tenant_id=tenant_id, lease_id=lease.id, building_id=unit.building_id, receivable_id=body.receivable_id,
        kind=body.kind, note=body.note.strip(), actor_id=actor_id, at=now, promised_date=body.promised_date,
        promised_fen=body.promised_fen, promise_status=PromiseStatus.PENDING if promise else None,
        promise_baseline_fen=await received_total(lease.id) if promise else None)


async def send_now(row: Receivable, *, cfg: ArrearsConfig, now: datetime, actor_id: int) -> dict[str, Any]:
    """一键发送: the receivable's current tier template to its tenant now (once per tier and day: a second click
    the same day answers with what was sent)."""
    as_of = cfg.local_date(now)
    if row.status not in OPEN_RECEIVABLE_STATUSES or row.due_date >= as_of or row.charge_type not in DUNNED_TYPES:
        raise Conflict("the receivable is not overdue", code="NOT_OVERDUE",
                       details={"receivable_id": row.id, "status": row.status, "due_date": row.due_date.isoformat()})
    if row.lease_id in await active_grace_leases([row.lease_id], as_of):
        raise Conflict("a grace period is running for this lease", code="GRACE_ACTIVE")
    tier = current_tier(row, cfg, as_of)
    if tier is None:  # overdue always has a tier unless the configured bounds leave a gap
        raise Conflict("no collections tier covers this receivable's days past due", code="NO_TIER",
                       details={"receivable_id": row.id, "days_past_due": days_past_due(row.due_date, as_of)})
    key = f"collections:{row.id}:tier:{tier.level}:manual:{as_of.isoformat()}"
    async with in_transaction():
        messages = await send_tier_message(row, tier, days=days_past_due(row.due_date, as_of), cfg=cfg, now=now,
                                           trigger=MessageTrigger.MANUAL, key=key, sent_by=actor_id)
    if not messages:
        messages = await CollectionMessage.filter(dedupe_key__startswith=f"{key}:").order_by("id")
        return {"sent": False, "tier": tier.code, "messages": [serialize_message(m) for m in messages]}
    return {"sent": True, "tier": tier.code, "messages": [serialize_message(m) for m in messages]}

