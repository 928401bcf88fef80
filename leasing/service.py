"""Leases: creation (party + terms), signing (unit PENDING_DELIVERY, one cleaning order, the schedule generated),
key handover (交付, its own step after the pre-delivery cleaning, confirmed on site) and amendments (合同变更).

Entry points other domains call (contract OCR, imports): ``create_lease(unit=…, draft=LeaseIn(…), cfg=…)`` and
``terms_from_draft``; the alias table is ``leasing.frequency`` (docs/leasing.md)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import ValidationError
from tortoise.transactions import in_transaction

from accounts.choices import Role
from accounts.scope import Principal
from core.errors import Conflict, InvalidTransition, NotFound, ValidationFailed
from core.validation import check_bounds, field_errors
from leasing.choices import LIVE_LEASE_STATUSES, ChangeKind, LeaseStatus, PaymentFrequency, RentBasis
from leasing.config import DEFAULT_CONFIG, LeasingConfig
from leasing.frequency import AliasTable
from leasing.ledger import (
    apply_schedule,
    attempt_generation,
    local_date,
    record_amended_generation,
    request_generation,
)
from leasing.party_service import find_or_create_party
from leasing.schedule import Schedule, generate_schedule
from leasing.schemas import LeaseIn, TermsPatch, conditional_required
from leasing.terms import LeaseTerms, RentStep, ScheduleError, lease_terms
from models.leasing import Lease, LeaseChange, LeaseContact
from models.portfolio import Unit
from models.workorders import WorkOrder
from portfolio.choices import StatusSource, UnitStatus
from portfolio.service import change_unit_status
from workorders.choices import TriggerSource, WorkOrderStatus, WorkOrderType
from workorders.service import open_work_order

# --------------------------------------------------------------------------------------------- terms


TERM_FIELDS = ("start_date", "end_date", "rent_basis", "monthly_rent_fen", "unit_price", "area_m2",
               "days_per_month", "timing", "timing_days", "timing_day", "deposit_months", "deposit_fen",
               "billing_anchor", "free_periods", "escalations", "charges")


def schedule_error(exc: ScheduleError) -> ValidationFailed:
    return ValidationFailed(exc.message, code=exc.code, details=exc.details)


def terms_from_draft(draft: LeaseIn, unit: Unit | None, aliases: AliasTable) -> LeaseTerms:
    """The terms a draft states: frequency resolved through the alias table (押X付Y also gives the deposit),
    the contracted area defaulting to the unit's. INVALID_FREQUENCY_CODE here, at entry."""
    term = aliases.resolve(draft.payment_frequency)
    values: dict[str, Any] = {name: getattr(draft, name) for name in TERM_FIELDS}
    values["frequency"] = term.frequency.value
    if values["deposit_fen"] is None and values["deposit_months"] is None and term.deposit_months is not None:
        values["deposit_months"] = term.deposit_months
    if draft.rent_basis != RentBasis.MONTHLY_AMOUNT and values["area_m2"] is None and unit is not None:
        values["area_m2"] = unit.area_m2
    for charge in draft.charges:
        aliases.resolve(charge.frequency, field=f"charges.{charge.code}.frequency")
    return LeaseTerms(**values)


def checked_schedule(terms: LeaseTerms, aliases: AliasTable) -> Schedule:
    try:
        return generate_schedule(terms, aliases)
    except ScheduleError as exc:
        raise schedule_error(exc) from None


def summary_columns(terms: LeaseTerms, schedule: Schedule | None) -> dict[str, Any]:
    """The lease's summary columns, derived from its terms only here."""
    frequency = schedule.frequency if schedule else PaymentFrequency(terms.frequency or "MONTHLY")
    return {"start_date": terms.start_date, "end_date": terms.end_date, "payment_frequency": frequency,
            "monthly_rent_fen": schedule.monthly_rent_fen if schedule else terms.monthly_rent_fen or 0,
            "deposit_fen": schedule.deposit_fen if schedule else terms.deposit_fen or 0,
            "terms": terms.to_json()}


def validate_draft(raw: dict[str, Any]) -> LeaseIn:
    """Parse a lease body: pydantic's bounds plus the fields other fields make required, in one 422."""
    errors = conditional_required(raw)
    try:
        draft = LeaseIn.model_validate(raw)
    except ValidationError as exc:
        errors = field_errors(exc) + [e for e in errors if e["field"] not in {f["field"] for f in field_errors(exc)}]
        raise ValidationFailed("request failed validation", details={"fields": errors}) from None
    if errors:
        raise ValidationFailed("request failed validation", details={"fields": errors})
    return check_bounds(draft)


# --------------------------------------------------------------------------------------------- creation


async def create_lease(*, unit: Unit, draft: LeaseIn | None = None, cfg: LeasingConfig = DEFAULT_CONFIG,
                       allow_incomplete: bool = False, source: str = "manual", renewal_of_id: int | None = None,
                       **flat: Any) -> Lease:
    """Create a DRAFT lease for ``unit`` with its party (found again or created) and terms.

    ``draft`` is a LeaseIn; keyword fields (tenant_name=…, monthly_rent_fen=…) build one. ``allow_incomplete``
    (OCR and imported drafts) stores terms a person still has to complete: signing such a lease makes the
    schedule generation fail loudly (MISSING_TERM) instead of guessing. The frequency is always checked."""
    if draft is None:
        flat = {k: (v.value if isinstance(v, PaymentFrequency) else v) for k, v in flat.items()}
        draft = validate_draft({"unit_code": unit.code, **flat}) if not allow_incomplete else \
            LeaseIn.model_validate({"unit_code": unit.code, **flat})
    renewal_of_id = renewal_of_id or draft.renewal_of
    terms = terms_from_draft(draft, unit, cfg.aliases)
    try:
        schedule = generate_schedule(terms, cfg.aliases)
    except ScheduleError as exc:
        if not allow_incomplete or exc.code == "INVALID_FREQUENCY_CODE":
            raise schedule_error(exc) from None
        schedule = None
    await _check_free(unit, terms.start_date, terms.end_date, renewal_of_id, draft.contract_no)
    async with in_transaction():
        tenant, _ = await find_or_create_party(draft.party, salt=cfg.salt)
        lease = await Lease.create(unit=unit, tenant=tenant, contract_no=draft.contract_no,
                                   property_type=draft.property_type or unit.property_type,
                                   renewal_of_id=renewal_of_id, source=source[:16],
                                   **summary_columns(terms, schedule))
        for contact in draft.contacts:
            await LeaseContact.create(lease=lease, name=contact.name, phone=contact.phone, role=contact.role)
    return lease


async def _check_free(unit: Unit, start: date, end: date, renewal_of_id: int | None, contract_no: str | None) -> None:
    if end <= start:
        raise ValidationFailed("end_date must be after start_date",
                               details={"fields": [{"field": "end_date", "message": "must be after start_date"}]})
    overlapping = await Lease.filter(unit_id=unit.id, status__in=list(LIVE_LEASE_STATUSES),
                                     start_date__lte=end, end_date__gte=start)
    overlapping = [lease for lease in overlapping if lease.id != renewal_of_id]
    if overlapping:
        raise Conflict("the unit already has a live lease in that period", code="LEASE_OVERLAP",
                       details={"lease_ids": [lease.id for lease in overlapping]})
    if contract_no and await Lease.filter(contract_no=contract_no).exists():
        raise Conflict(f"contract number {contract_no} is already taken", code="CONTRACT_NO_TAKEN",
                       details={"contract_no": contract_no})


# --------------------------------------------------------------------------------------------- signing


async def sign_lease(lease_id: int, *, now: datetime, actor_id: int | None,
                     cfg: LeasingConfig = DEFAULT_CONFIG) -> tuple[Lease, bool]:
    """Sign a DRAFT lease. Returns (lease, signed_now); signing again is a no-op that returns the lease.

    The DRAFT→SIGNED update is conditional, so of two concurrent calls exactly one proceeds; the work order is
    keyed by the lease and the schedule generation by (lease, terms version), so even a retry after a crash
    opens one order and generates one schedule. Generation runs as a job (leasing.ledger): a failure is
    recorded, alerted and retried, never lost — and never undoes the signature."""
    async with in_transaction():
        lease = await Lease.get_or_none(id=lease_id)
        if lease is None:
            raise NotFound(f"lease {lease_id} not found")
        won = await Lease.filter(id=lease_id, status=LeaseStatus.DRAFT).update(status=LeaseStatus.SIGNED,
                                                                                signed_at=now)
        if won != 1:
            lease = await Lease.get(id=lease_id)
            if lease.status in (LeaseStatus.SIGNED, LeaseStatus.ACTIVE):
                return lease, False
            raise InvalidTransition("lease", lease.status, LeaseStatus.SIGNED, [])
        unit = await Unit.get(id=lease.unit_id)
        is_renewal_in_place = lease.renewal_of_id is not None and unit.status == UnitStatus.OCCUPIED
        if not is_renewal_in_place:
            await change_unit_status(unit.id, UnitStatus.PENDING_DELIVERY, source=StatusSource.LEASE, now=now,
                                     actor_id=actor_id, reason="lease signed", reference=f"lease:{lease.id}")
            await open_work_order(wo_type=WorkOrderType.CLEANING, building_id=unit.building_id, unit_id=unit.id,
                                  title=f"交付前保洁 {unit.code}", trigger_source=TriggerSource.LEASE_SIGNED,
                                  trigger_ref=f"lease:{lease.id}", now=now, actor_id=actor_id)
        job = await request_generation(lease, now)
    await attempt_generation(job.id, now=now, cfg=cfg)
    return await Lease.get(id=lease_id), True


async def activate_in_force(lease_id: int, *, now: datetime, actor_id: int | None,
                            cfg: LeasingConfig = DEFAULT_CONFIG) -> Lease:
    """An imported tenancy already in force: signed (schedule generated) and ACTIVE at once — the tenant lives
    there, so no pre-delivery cleaning is opened and the unit goes straight to OCCUPIED."""
    draft = await Lease.get_or_none(id=lease_id)
    if draft is None:
        raise NotFound(f"lease {lease_id} not found")
    today = local_date(now, cfg)
    if draft.status == LeaseStatus.DRAFT and not draft.start_date <= today <= draft.end_date:
        raise ValidationFailed("only a tenancy in force today can be entered as in force; sign it instead",
                               code="NOT_IN_FORCE",
                               details={"start_date": draft.start_date.isoformat(),
                                        "end_date": draft.end_date.isoformat(), "today": today.isoformat()})
    async with in_transaction():
        won = await Lease.filter(id=lease_id, status=LeaseStatus.DRAFT).update(
            status=LeaseStatus.ACTIVE, signed_at=now, handed_over_at=now, handed_over_by_id=actor_id)
        lease = await Lease.get(id=lease_id)
        if won != 1:
            if lease.status != LeaseStatus.ACTIVE:
                raise InvalidTransition("lease", lease.status, LeaseStatus.ACTIVE, [])
            return lease
        for target in (UnitStatus.PENDING_DELIVERY, UnitStatus.OCCUPIED):
            unit = await Unit.get(id=lease.unit_id)
            if unit.status not in (UnitStatus.OCCUPIED, target):
                await change_unit_status(unit.id, target, source=StatusSource.LEASE, now=now, actor_id=actor_id,
                                         reason="imported tenancy in force", reference=f"lease:{lease.id}")
        job = await request_generation(lease, now)
    await attempt_generation(job.id, now=now, cfg=cfg)
    return await Lease.get(id=lease_id)


# --------------------------------------------------------------------------------------------- handover


@dataclass(frozen=True)
class OnSite:
    """Evidence that the person handing over is at the unit (computed by the caller from a location fix)."""

    inside: bool
    distance_m: float
    radius_m: float
    accuracy_m: float
    captured_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {"inside": self.inside, "distance_m": round(self.distance_m, 1), "radius_m": self.radius_m,
                "accuracy_m": self.accuracy_m, "captured_at": self.captured_at.isoformat()}


DONE_ORDER_STATUSES = (WorkOrderStatus.DONE, WorkOrderStatus.VERIFIED)


async def hand_over_keys(lease_id: int, *, now: datetime, actor_id: int | None, on_site: OnSite,
                         note: str = "") -> tuple[Lease, bool]:
    """交付: a SIGNED lease becomes ACTIVE and its unit OCCUPIED, once the pre-delivery cleaning is done and the
    handover is confirmed on site. Paying rent is a separate ledger fact (first_rent_paid_at); this step does not
    need it. Returns (lease, handed_over_now); handing over again is a no-op."""
    if not on_site.inside:
        raise ValidationFailed("the handover must be confirmed at the unit", code="OUTSIDE_GEOFENCE",
                               details=on_site.as_dict())
    async with in_transaction():
        lease = await Lease.get_or_none(id=lease_id)
        if lease is None:
            raise NotFound(f"lease {lease_id} not found")
        if lease.status == LeaseStatus.ACTIVE:
            return lease, False
        if lease.status != LeaseStatus.SIGNED:
            raise InvalidTransition("lease", lease.status, LeaseStatus.ACTIVE, [])
        cleaning = await WorkOrder.filter(trigger_source=TriggerSource.LEASE_SIGNED,
                                          trigger_ref=f"lease:{lease.id}").first()
        if cleaning is not None and cleaning.status not in DONE_ORDER_STATUSES:
            raise Conflict("the pre-delivery cleaning is not done yet", code="CLEANING_NOT_DONE",
                           details={"work_order_id": cleaning.id, "status": cleaning.status})
        won = await Lease.filter(id=lease_id, status=LeaseStatus.SIGNED).update(
            status=LeaseStatus.ACTIVE, handed_over_at=now, handed_over_by_id=actor_id)
        if won != 1:
            return await Lease.get(id=lease_id), False
        unit = await Unit.get(id=lease.unit_id)
        if unit.status != UnitStatus.OCCUPIED:
            reason = f"keys handed over on site ({on_site.distance_m:.0f} m){': ' + note if note else ''}"
            await change_unit_status(unit.id, UnitStatus.OCCUPIED, source=StatusSource.LEASE, now=now,
                                     actor_id=actor_id, reason=reason[:500], reference=f"lease:{lease.id}")
        return await Lease.get(id=lease_id), True


# --------------------------------------------------------------------------------------------- amendments


def amended_terms(terms: LeaseTerms, patch: TermsPatch, aliases: AliasTable) -> tuple[LeaseTerms, date | None]:
    """The terms after a change (pure): dated successor rent lines, a new end, or corrected fields."""
    kind = ChangeKind(patch.kind)
    if kind == ChangeKind.RENT_CHANGE:
        if patch.effective_date is None or (patch.monthly_rent_fen is None and patch.unit_price is None):
            raise ValidationFailed("a rent change needs effective_date and the new rent", code="MISSING_TERM",
                                   details={"fields": ["effective_date", "monthly_rent_fen|unit_price"]})
        step = RentStep(from_date=patch.effective_date, monthly_rent_fen=patch.monthly_rent_fen,
                        unit_price=patch.unit_price)
        kept = tuple(s for s in terms.rent_steps if s.from_date < patch.effective_date)
        return terms.model_copy(update={"rent_steps": (*kept, step)}), patch.effective_date
    if kind in (ChangeKind.EXTENSION, ChangeKind.EARLY_TERMINATION):
        if patch.end_date is None:
            raise ValidationFailed("the change needs the new end_date", code="MISSING_TERM",
                                   details={"fields": ["end_date"]})
        longer = patch.end_date > terms.end_date
        if longer != (kind == ChangeKind.EXTENSION) or patch.end_date == terms.end_date:
            raise ValidationFailed(f"{kind} needs an end date {'after' if kind == ChangeKind.EXTENSION else 'before'} "
                                   f"{terms.end_date}", code="INCONSISTENT_DATES", details={"field": "end_date"})
        return terms.model_copy(update={"end_date": patch.end_date}), patch.end_date
    data = terms.to_json()
    fixes = dict(patch.terms or {})
    if "payment_frequency" in fixes:
        fixes["frequency"] = aliases.resolve(fixes.pop("payment_frequency")).frequency.value
    unknown = sorted(set(fixes) - set(data))
    if unknown:
        raise ValidationFailed("unknown term fields", details={"fields": [{"field": f, "message": "unknown term"}
                                                                          for f in unknown]})
    try:
        return LeaseTerms.model_validate({**data, **fixes}), patch.effective_date
    except ValidationError as exc:
        raise ValidationFailed("the corrected terms are not valid", details={"fields": field_errors(exc)}) from None


async def amend_lease(lease_id: int, patch: TermsPatch, *, now: datetime, actor_id: int | None,
                      cfg: LeasingConfig = DEFAULT_CONFIG) -> tuple[Lease, LeaseChange]:
    """合同变更 of a signed lease: new terms version, the unpaid future regenerated (paid rows kept, differences
    settled by adjustments), recorded with who/when/why. A DRAFT lease's terms are simply replaced."""
    async with in_transaction():
        lease = await Lease.select_for_update().get_or_none(id=lease_id)
        if lease is None:
            raise NotFound("lease not found")
        if lease.status not in (LeaseStatus.DRAFT, *LIVE_LEASE_STATUSES):
            raise InvalidTransition("lease", lease.status, "AMENDED", [])
        try:
            before = lease_terms(lease)
        except ScheduleError:
            before = None
        if before is None:
            if patch.kind != ChangeKind.TERMS_FIX:
                raise Conflict("the stored terms are unusable: fix them first (TERMS_FIX)", code="TERMS_UNUSABLE")
            before = LeaseTerms.model_validate({**(lease.terms or {}), **_start_end(lease)})
        after, effective = amended_terms(before, patch, cfg.aliases)
        schedule = checked_schedule(after, cfg.aliases)
        if after.end_date != lease.end_date:
            await _check_free(await Unit.get(id=lease.unit_id), after.start_date, after.end_date, lease.id, None)
        version = lease.terms_version + 1
        await Lease.filter(id=lease.id).update(terms_version=version, **summary_columns(after, schedule))
        summary: dict[str, Any] = {}
        if lease.status in LIVE_LEASE_STATUSES:
            summary = await apply_schedule(await Lease.get(id=lease.id), schedule, now=now, actor_id=actor_id,
                                           cfg=cfg)
            await record_amended_generation(lease.id, version, summary, now)
        change = await LeaseChange.create(lease_id=lease.id, kind=patch.kind, from_version=lease.terms_version,
                                          to_version=version, effective_date=effective, reason=patch.reason,
                                          actor_id=actor_id, at=now, before=before.to_json(), after=after.to_json(),
                                          schedule=summary)
    return await Lease.get(id=lease_id), change


def _start_end(lease: Lease) -> dict[str, Any]:
    return {"start_date": lease.start_date.isoformat(), "end_date": lease.end_date.isoformat()}


# --------------------------------------------------------------------------------------------- views


def serialize_lease(lease: Lease, *, unit_code: str | None = None, include_tenant: bool = True) -> dict:
    data = {
        "id": lease.id, "unit_id": lease.unit_id, "unit_code": unit_code, "status": lease.status,
        "contract_no": lease.contract_no, "property_type": lease.property_type,
        "start_date": lease.start_date.isoformat(), "end_date": lease.end_date.isoformat(),
        "monthly_rent_fen": lease.monthly_rent_fen, "deposit_fen": lease.deposit_fen,
        "payment_frequency": lease.payment_frequency, "terms": lease.terms, "terms_version": lease.terms_version,
        "signed_at": lease.signed_at.isoformat() if lease.signed_at else None,
        "first_rent_paid_at": lease.first_rent_paid_at.isoformat() if lease.first_rent_paid_at else None,
        "handed_over_at": lease.handed_over_at.isoformat() if lease.handed_over_at else None,
        "renewal_of": lease.renewal_of_id,
    }
    if include_tenant:
        data["tenant_id"] = lease.tenant_id
    return data


def serialize_change(change: LeaseChange) -> dict:
    return {"id": change.id, "kind": change.kind, "from_version": change.from_version, "to_version": change.to_version,
            "effective_date": change.effective_date.isoformat() if change.effective_date else None,
            "reason": change.reason, "actor_id": change.actor_id, "at": change.at.isoformat(),
            "schedule": change.schedule, "before": change.before, "after": change.after}


async def lease_in_scope(principal: Principal, lease_id: int) -> Lease:
    """A lease the caller may see: staff within building scope, a tenant only their own (else NotFound)."""
    lease = await Lease.get_or_none(id=lease_id).select_related("unit")
    if lease is None:
        raise NotFound("lease not found")
    if principal.role == Role.TENANT:
        if lease.tenant_id != principal.tenant_id:
            raise NotFound("lease not found")
    else:
        principal.require_building(lease.unit.building_id, "lease")
    return lease
