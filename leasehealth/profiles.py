"""Tenant profiles (信用行为画像): loads each tenant party's facts across all their leases in bulk (ledger,
collections, refunds, work orders), applies the pure rules (leasehealth.profile) and stores the result in
``tenant_profiles`` (one row per tenant, rewritten daily) for the expiry reminder and the API to read."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from arrears.choices import ContactKind, GraceStatus, PromiseStatus, RequestedVia, TierCode
from core.errors import NotFound
from leasehealth.choices import RECOMMENDATION_LABEL, Recommendation
from leasehealth.profile import (
    DueFact,
    GraceFact,
    LeaseSpan,
    OrderFact,
    Profile,
    ProfileFacts,
    ProfileParams,
    PromiseFact,
    RefundFact,
    assess_tenant,
)
from leasehealth.rules import COUNTED_WORK_ORDER_TYPES
from leasehealth.service import JUDGED_CHARGES, JUDGED_STATUSES, OWN_TRIGGERS, HealthConfig
from leasing.choices import LIVE_LEASE_STATUSES, LeaseStatus, ReceivableStatus
from models.arrears import CollectionMessage, CollectionStep, ContactNote, GracePeriod
from models.leasehealth import TenantProfile
from models.leasing import Lease, Payment, Receivable, Tenant
from models.refunds import DepositRefund, TenantDebt
from models.workorders import WorkOrderEvent
from refunds.choices import RefundStep

BATCH = 500
#: leases whose behaviour counts (a draft or a cancelled lease has none)
PROFILED_LEASE_STATUSES = (LeaseStatus.SIGNED, LeaseStatus.ACTIVE, LeaseStatus.ENDED, LeaseStatus.TERMINATED)


@dataclass
class ProfileReport:
    as_of: date
    tenants: int = 0
    recommendations: dict[str, int] = field(default_factory=lambda: {r.value: 0 for r in Recommendation})

    def summary(self) -> dict[str, Any]:
        return {"as_of": self.as_of.isoformat(), "tenants": self.tenants, "recommendations": self.recommendations}


def _local(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


async def _ledger(tenant_ids: list[int], since: date, tz: ZoneInfo, out: dict[int, dict[str, list]]) -> None:
    for rid, tenant_id, due_date, amount, paid_at, status in await Receivable.filter(
            Q(due_date__gte=since) | Q(status__in=[ReceivableStatus.OPEN, ReceivableStatus.PARTIAL]),
            tenant_id__in=tenant_ids, charge_type__in=list(JUDGED_CHARGES), status__in=list(JUDGED_STATUSES),
            amount_fen__gt=0).values_list(
            "id", "tenant_id", "due_date", "amount_fen", "paid_at", "status"):
        paid_on = _local(paid_at, tz) if status == ReceivableStatus.PAID and paid_at else None
        out[tenant_id]["dues"].append(DueFact(rid, due_date, amount, paid_on))
    since_at = datetime.combine(since, datetime.min.time(), tzinfo=tz)
    for tenant_id, paid_at in await Payment.filter(tenant_id__in=tenant_ids, paid_at__gte=since_at,
                                                   amount_fen__gt=0, adjusts_id__isnull=True).values_list(
            "tenant_id", "paid_at"):
        out[tenant_id]["responses"].append(_local(paid_at, tz))


async def _collections(tenant_ids: list[int], since: date, tz: ZoneInfo, out: dict[int, dict[str, list]]) -> None:
    since_at = datetime.combine(since, datetime.min.time(), tzinfo=tz)
    for tenant_id, rid, tier in await CollectionStep.filter(tenant_id__in=tenant_ids).values_list(
            "tenant_id", "receivable_id", "tier_code"):
        out[tenant_id]["episodes"].append((rid, TierCode(tier)))
    for tenant_id, requested_at, status, via in await GracePeriod.filter(
            tenant_id__in=tenant_ids, requested_at__gte=since_at).values_list(
            "tenant_id", "requested_at", "status", "requested_via"):
        out[tenant_id]["graces"].append(GraceFact(_local(requested_at, tz), GraceStatus(status)))
        if via == RequestedVia.TENANT:
            out[tenant_id]["responses"].append(_local(requested_at, tz))
    for tenant_id, at, status in await ContactNote.filter(tenant_id__in=tenant_ids, kind=ContactKind.PROMISE,
                                                          at__gte=since_at).values_list(
            "tenant_id", "at", "promise_status"):
        out[tenant_id]["promises"].append(PromiseFact(_local(at, tz), PromiseStatus(status) if status else None))
        out[tenant_id]["responses"].append(_local(at, tz))
    for tenant_id, at in await CollectionMessage.filter(tenant_id__in=tenant_ids, at__gte=since_at).values_list(
            "tenant_id", "at"):
        out[tenant_id]["messages"].append(_local(at, tz))


async def _refunds(tenant_ids: list[int], since: date, tz: ZoneInfo, out: dict[int, dict[str, list]]) -> None:
    since_at = datetime.combine(since, datetime.min.time(), tzinfo=tz)
    debts = {refund_id: amount for refund_id, amount in await TenantDebt.filter(
        tenant_id__in=tenant_ids, settled_at__isnull=True).values_list("refund_id", "amount_fen")}
    for refund_id, tenant_id, deductions in await DepositRefund.filter(
            tenant_id__in=tenant_ids, applied_at__gte=since_at).exclude(step=RefundStep.CANCELLED).values_list(
            "id", "tenant_id", "deductions_fen"):
        out[tenant_id]["refunds"].append(RefundFact(refund_id, deductions or 0, debts.get(refund_id, 0)))


async def _orders(leases: list[Lease], since: date, tz: ZoneInfo, out: dict[int, dict[str, list]]) -> None:
    """The tenant's own work orders: requests on a unit they leased, opened during their lease."""
    since_at = datetime.combine(since, datetime.min.time(), tzinfo=tz)
    by_unit: dict[int, list[Lease]] = defaultdict(list)
    for lease in leases:
        by_unit[lease.unit_id].append(lease)
    for oid, unit_id, title, opened_at in await WorkOrderEvent.filter(
            from_status__isnull=True, work_order__unit_id__in=list(by_unit), at__gte=since_at,
            work_order__type__in=list(COUNTED_WORK_ORDER_TYPES)).exclude(
            work_order__trigger_source__in=list(OWN_TRIGGERS)).values_list(
            "work_order_id", "work_order__unit_id", "work_order__title", "at"):
        opened_on = _local(opened_at, tz)
        for lease in by_unit[unit_id]:
            if lease.start_date <= opened_on <= lease.end_date:
                out[lease.tenant_id]["orders"].append(OrderFact(oid, opened_on, title))
                break


def _lease_span(lease: Lease, tz: ZoneInfo) -> LeaseSpan:
    end = lease.end_date
    if lease.ended_at is not None:
        end = min(end, _local(lease.ended_at, tz))
    return LeaseSpan(lease.start_date, end)


async def load_profile_facts(tenant_ids: list[int], as_of: date, params: ProfileParams,
                             tz: ZoneInfo) -> dict[int, ProfileFacts]:
    """Each tenant's facts over the lookback window (a few queries per batch of tenants)."""
    since = as_of - timedelta(days=params.lookback_days)
    facts: dict[int, ProfileFacts] = {}
    for start in range(0, len(tenant_ids), BATCH):
        batch = tenant_ids[start:start + BATCH]
        out: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))
        leases = await Lease.filter(tenant_id__in=batch, status__in=list(PROFILED_LEASE_STATUSES),
                                    end_date__gte=since, start_date__lte=as_of)
        for lease in leases:
            out[lease.tenant_id]["leases"].append(_lease_span(lease, tz))
        await _ledger(batch, since, tz, out)
        await _collections(batch, since, tz, out)
        await _refunds(batch, since, tz, out)
        await _orders(leases, since, tz, out)
        for tenant_id in batch:
            rows = out[tenant_id]
            facts[tenant_id] = ProfileFacts(
                dues=tuple(rows["dues"]), episodes=tuple(rows["episodes"]), graces=tuple(rows["graces"]),
                promises=tuple(rows["promises"]), refunds=tuple(rows["refunds"]), orders=tuple(rows["orders"]),
                leases=tuple(rows["leases"]), messages=tuple(sorted(rows["messages"])),
                responses=tuple(sorted(rows["responses"])))
    return facts


async def store_profile(tenant_id: int, profile: Profile, now: datetime) -> None:
    values: dict[str, Any] = {"score": profile.score, "recommendation": profile.recommendation,
              "reasons": [r.as_dict() for r in profile.reasons], "metrics": profile.metrics,
              "as_of": profile.as_of, "computed_at": now}
    if await TenantProfile.filter(tenant_id=tenant_id).update(**values):
        return
    try:
        async with in_transaction():
            await TenantProfile.create(tenant_id=tenant_id, **values)
    except IntegrityError:  # a concurrent run stored it first: ours is the same day's, write it over
        await TenantProfile.filter(tenant_id=tenant_id).update(**values)


async def profiled_tenants() -> list[int]:
    """Tenants with a live lease: the ones a renewal decision is coming for."""
    ids = await Lease.filter(status__in=list(LIVE_LEASE_STATUSES)).values_list("tenant_id", flat=True)
    return sorted(set(cast(list[int], ids)))


async def run_profiles(cfg: HealthConfig, now: datetime, *, as_of: date | None = None,
                       params: ProfileParams = ProfileParams(), tenant_ids: list[int] | None = None) -> ProfileReport:
    """Recompute and store the profile of every tenant with a live lease (or of ``tenant_ids``)."""
    tz = ZoneInfo(cfg.timezone)
    as_of = as_of or cfg.local_date(now)
    report = ProfileReport(as_of=as_of)
    ids = tenant_ids if tenant_ids is not None else await profiled_tenants()
    facts = await load_profile_facts(ids, as_of, params, tz)
    for tenant_id in ids:
        profile = assess_tenant(facts[tenant_id], as_of, params)
        await store_profile(tenant_id, profile, now)
        report.tenants += 1
        report.recommendations[profile.recommendation.value] += 1
    return report


# --------------------------------------------------------------------------------------------- reading


def serialize_profile(row: TenantProfile) -> dict[str, Any]:
    recommendation = Recommendation(row.recommendation)
    return {"tenant_id": row.tenant_id, "score": row.score, "recommendation": recommendation.value,
            "recommendation_label": RECOMMENDATION_LABEL[recommendation], "reasons": row.reasons,
            "metrics": row.metrics, "as_of": row.as_of.isoformat(), "computed_at": row.computed_at.isoformat()}


async def tenant_profile(tenant_id: int, building_ids: frozenset[int] | None) -> dict[str, Any]:
    """The stored profile of a tenant with a lease in the caller's buildings (``profile`` None: not computed
    yet — the daily job computes it)."""
    tenant = await Tenant.get_or_none(id=tenant_id)
    leases = Lease.filter(tenant_id=tenant_id)
    if building_ids is not None:
        leases = leases.filter(unit__building_id__in=list(building_ids))
    lease_ids = sorted(cast(list[int], await leases.values_list("id", flat=True)))
    if tenant is None or not lease_ids:
        raise NotFound("tenant not found")
    row = await TenantProfile.get_or_none(tenant_id=tenant_id)
    return {"tenant": {"id": tenant.id, "name": tenant.name, "kind": str(tenant.kind)}, "lease_ids": lease_ids,
            "profile": serialize_profile(row) if row else None}


async def profile_lines(tenant_ids: list[int] | None = None) -> list[str]:
    """One line per stored profile (for the CLI): tenant, recommendation, score and every reason."""
    query = TenantProfile.all().select_related("tenant").order_by("score", "tenant_id")
    if tenant_ids is not None:
        query = query.filter(tenant_id__in=tenant_ids)
    lines = []
    for row in await query:
        label = RECOMMENDATION_LABEL[Recommendation(row.recommendation)]
        reasons = ";".join(str(r.get("text", "")) for r in row.reasons)
        lines.append(f"  #{row.tenant_id} {row.tenant.name} {label}({row.score}分,{row.as_of.isoformat()}):{reasons}")
    return lines
