"""Inspection rounds and audit: units due per building, contradicted statuses, the unit timeline."""

from __future__ import annotations

from datetime import datetime, timedelta

from tortoise.expressions import Q

from accounts.scope import Principal
from inspections.choices import ReportState
from models.inspections import Photo, StatusConfirmation, StatusReport
from models.portfolio import Unit, UnitStatusChange

#: States in which a report's requested status is an unresolved finding about the unit.
UNRESOLVED = (ReportState.PENDING_CONFIRMATION, ReportState.HELD_FOR_REVIEW, ReportState.AWAITING_MEDIA,
              ReportState.CONFLICT, ReportState.EXPIRED)


def _iso(value):
    return value.isoformat() if value else None


async def units_due(principal: Principal, *, now: datetime, interval_days: int, building_id: int | None = None,
                    limit: int = 500) -> list[dict]:
    cutoff = now - timedelta(days=interval_days)
    qs = Unit.filter(**principal.building_filter()).filter(
        Q(last_inspected_at__isnull=True) | Q(last_inspected_at__lt=cutoff))
    if building_id:
        qs = qs.filter(building_id=building_id)
    rows = await qs.order_by("building_id", "code").limit(limit).values(
        "code", "name", "building_id", "status", "last_inspected_at")
    return [{**r, "last_inspected_at": _iso(r["last_inspected_at"]),
             "days_since": (now - r["last_inspected_at"]).days if r["last_inspected_at"] else None} for r in rows]


async def contradictions(principal: Principal, *, building_id: int | None = None, limit: int = 500) -> list[dict]:
    """Units whose recorded status the latest unresolved inspection contradicts."""
    qs = StatusReport.filter(state__in=list(UNRESOLVED), requested_status__isnull=False,
                             **principal.building_filter("unit__building_id"))
    if building_id:
        qs = qs.filter(unit__building_id=building_id)
    rows = await qs.order_by("-captured_at").limit(limit * 4).values(
        "id", "unit_id", "unit__code", "unit__building_id", "unit__status", "requested_status", "state",
        "captured_at", "author_id")
    seen, out = set(), []
    for r in rows:
        if r["unit_id"] in seen:
            continue
        seen.add(r["unit_id"])
        if r["requested_status"] != r["unit__status"]:
            out.append({"unit_code": r["unit__code"], "building_id": r["unit__building_id"],
                        "recorded_status": r["unit__status"], "observed_status": r["requested_status"],
                        "report_id": r["id"], "report_state": r["state"], "captured_at": _iso(r["captured_at"]),
                        "author_id": r["author_id"]})
    return out[:limit]


async def timeline(unit: Unit, limit: int = 200) -> list[dict]:
    events: list[dict] = []
    for c in await UnitStatusChange.filter(unit_id=unit.id).order_by("-changed_at").limit(limit):
        events.append({"at": _iso(c.changed_at), "kind": "status_change", "from": c.from_status, "to": c.to_status,
                       "version": c.version, "source": c.source, "actor_id": c.actor_id, "reason": c.reason,
                       "reference": c.reference})
    reports = await StatusReport.filter(unit_id=unit.id).order_by("-captured_at").limit(limit)
    for r in reports:
        events.append({"at": _iso(r.captured_at), "kind": "status_report", "report_id": r.id, "state": r.state,
                       "category": r.category, "requested_status": r.requested_status, "no_change": r.no_change,
                       "author_id": r.author_id, "flags": r.flags, "photo_ids": r.photo_ids,
                       "distance_m": r.distance_m})
    for d in await StatusConfirmation.filter(report__unit_id=unit.id).order_by("-captured_at").limit(limit):
        events.append({"at": _iso(d.captured_at), "kind": "confirmation", "report_id": d.report_id,
                       "decision": d.decision, "outcome": d.outcome, "actor_id": d.actor_id, "reason": d.reason})
    for p in await Photo.filter(unit_id=unit.id).order_by("-created_at").limit(limit):
        events.append({"at": _iso(p.captured_at or p.exif_taken_at or p.created_at), "kind": "photo",
                       "photo_id": str(p.id), "uploaded_by": p.uploaded_by_id, "distance_m": p.distance_m})
    events.sort(key=lambda e: e["at"] or "", reverse=True)
    return events[:limit]
