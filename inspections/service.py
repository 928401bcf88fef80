"""Field inspection rules: sticker resolution, the unit card, status reports with geofence and mock-location
checks, on-site double confirmation, expiry, photo arrival. HTTP routes and the offline sync call these."""

from __future__ import annotations

import bisect
import contextlib
import functools
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from uuid import UUID

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from accounts.choices import Role
from accounts.permissions import STATUS_CONFIRMERS, STATUS_REPORTERS
from accounts.scope import Principal
from alerts.choices import OPEN_ALERT_STATUSES
from config.settings import Settings
from core.changes import UNIT, InvalidatingCache
from core.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from inspections import geo, onsite
from inspections.card_sql import ALERT_LIMIT, INSPECTED_STATES, PENDING_LIMIT, WORK_ORDER_LIMIT, CardRow, read_card
from inspections.choices import (
    DECIDABLE_STATES,
    REQUESTABLE_STATUSES,
    Decision,
    Flag,
    ReportState,
    SyncResult,
    needs_evidence,
)
from inspections.onsite import OnSiteLimits, OnSiteVerdict, PriorFix, StickerMismatch, SuspectedMockLocation
from inspections.photo_scope import (
    REFUSAL_MESSAGE,
    REFUSAL_STATUS,
    Citation,
    PhotoFacts,
    first_refusal,
    report_refusal,
)
from inspections.qr import StickerRef, parse_sticker, verify_signature, verify_version
from inspections.schemas import DecisionIn, StatusReportIn, content_hash
from leasing.choices import LIVE_LEASE_STATUSES
from models.alerts import Alert
from models.inspections import Photo, ReportPhoto, StatusConfirmation, StatusReport
from models.leasing import Lease
from models.portfolio import Building, Unit
from models.workorders import WorkOrder
from portfolio.choices import StatusSource, UnitStatus, allowed_unit_targets
from portfolio.service import change_unit_status
from workorders.choices import OPEN_WORK_ORDER_STATUSES

log = logging.getLogger("rentwatch.inspections")

REPORTERS = STATUS_REPORTERS  # the names this module has always used; the sets live in accounts.permissions
CONFIRMERS = STATUS_CONFIRMERS
FUTURE_TOLERANCE = timedelta(minutes=5)
EXPIRED_NOTIFICATION_KIND = "INSPECTION_EXPIRED"


# --------------------------------------------------------------------------- stickers and the unit card

@dataclass
class Site:
    unit: Unit
    building: Building

    @property
    def centre(self) -> tuple[float, float]:
        return site_centre(self.unit.lat, self.unit.lng, self.building.lat, self.building.lng)

    @property
    def radius_m(self) -> float:
        return float(self.building.geofence_radius_m)

    @property
    def place(self) -> onsite.Place:
        return onsite.Place(unit_code=self.unit.code, qr_version=self.unit.qr_version, centre=self.centre,
                            radius_m=self.radius_m)


async def resolve_sticker(principal: Principal, qr: str, settings: Settings,
                          prefetched: dict[str, Site] | None = None, *, keep: bool = False) -> Site:
    """Parse and verify a scanned sticker: forged → INVALID_QR, unknown/out of scope → 404, replaced → REVOKED_QR.
    ``prefetched`` (the offline sync's units, loaded at once) is used once per unit: its entry is taken out —
    unless ``keep`` (an item that changes no unit: the entry stays, and a unit loaded here is added)."""
    ref = parse_sticker(qr)
    verify_signature(ref, settings.qr_secret)
    site = None
    if prefetched is not None:
        site = prefetched.get(ref.unit_code) if keep else prefetched.pop(ref.unit_code, None)
    if site is None:
        site = await load_site(ref.unit_code)
        if keep and prefetched is not None:
            prefetched[ref.unit_code] = site
    _check_sticker(principal, ref, site.unit.building_id, site.unit.qr_version)
    return site


async def reissue_sticker_of(unit: Unit) -> Unit:
    """A new sticker version for ``unit``: the printed one answers REVOKED_QR from now on. Compare-and-set on the
    version the caller read: two reissues from the same read bump it once."""
    await Unit.filter(id=unit.id, qr_version=unit.qr_version).update(qr_version=unit.qr_version + 1)
    return await Unit.get(id=unit.id)


def site_centre(unit_lat: float | None, unit_lng: float | None, building_lat: float,
                building_lng: float) -> tuple[float, float]:
    """The geofence's centre: the unit's own position when it has one, else its building's."""
    if unit_lat is not None and unit_lng is not None:
        return unit_lat, unit_lng
    return building_lat, building_lng


def _unknown_unit(unit_code: str) -> NotFound:
    return NotFound(f"unit {unit_code} not found", code="UNKNOWN_UNIT", details={"unit_code": unit_code})


async def load_site(unit_code: str) -> Site:
    unit = await Unit.get_or_none(code=unit_code).select_related("building")
    if unit is None:
        raise _unknown_unit(unit_code)
    return Site(unit=unit, building=unit.building)


async def load_sites(unit_codes: list[str]) -> dict[str, Site]:
    """Many units with their buildings in one query (the offline sync's batch)."""
    units = await Unit.filter(code__in=unit_codes).select_related("building") if unit_codes else []
    return {unit.code: Site(unit=unit, building=unit.building) for unit in units}


def _check_sticker(principal: Principal, ref: StickerRef, building_id: int, qr_version: int) -> None:
    """For a sticker whose signature was verified: the caller's building scope, then the sticker's version."""
    principal.require_building(building_id, f"unit {ref.unit_code}")
    verify_version(ref, qr_version)


def requestable_statuses(role: Role, current: UnitStatus | str) -> list[str]:
    if role not in REPORTERS:
        return []
    return sorted(s.value for s in allowed_unit_targets(current) & REQUESTABLE_STATUSES)


def geofence_card(site: Site) -> dict:
    return geofence_of(site.centre, site.radius_m)


def geofence_of(centre: tuple[float, float], radius_m: float) -> dict:
    lat, lng = centre
    glat, glng = geo.wgs84_to_gcj02(lat, lng)
    return {"centre": {"lat": lat, "lng": lng, "coord_system": "wgs84"},
            "centre_gcj02": {"lat": round(glat, 7), "lng": round(glng, 7)}, "radius_m": radius_m}


async def unit_card(principal: Principal, site: Site, settings: Settings) -> dict:
    return compose_card(principal.role, await card_facts(site, OnSiteLimits.from_settings(settings)))


@dataclass
class CachedCard:
    """What a scan shows of a unit, shared by every caller; the role-specific JSON bodies are built lazily."""

    building_id: int
    qr_version: int
    facts: dict
    bodies: dict[Role, bytes] = field(default_factory=dict)

    def body_for(self, role: Role) -> bytes:
        body = self.bodies.get(role)
        if body is None:
            body = self.bodies[role] = json.dumps(compose_card(role, self.facts), ensure_ascii=False,
                                                  separators=(",", ":")).encode()
        return body


async def scan_unit(principal: Principal, qr: str, settings: Settings, cards: InvalidatingCache) -> bytes:
    """``POST /scan``: the unit card as JSON bytes. Served from the worker's card cache when it holds the unit
    (dropped on any change to the unit, its leases, work orders, alerts or reports: core.changes), else read in
    one statement (inspections.card_sql: the same facts as ``card_facts``); the sticker signature, its version
    and the caller's building scope are checked on every scan, cached or not."""
    ref = parse_sticker(qr)
    verify_signature(ref, settings.qr_secret)
    card = await cards.get(ref.unit_code)
    if card is None:
        fill = cards.begin()
        row = await read_card(ref.unit_code)
        if row is None:
            raise _unknown_unit(ref.unit_code)
        _check_sticker(principal, ref, row.building_id, row.qr_version)
        card = CachedCard(building_id=row.building_id, qr_version=row.qr_version,
                          facts=facts_of(row, OnSiteLimits.from_settings(settings)))
        cards.put(ref.unit_code, card, [(UNIT, row.unit_id)], fill)
    else:
        _check_sticker(principal, ref, card.building_id, card.qr_version)
    return card.body_for(principal.role)


def facts_of(row: CardRow, limits: OnSiteLimits) -> dict:
    """``card_facts`` from the one-statement reading: the database's facts, then the geofence and the limits."""
    return {**row.facts, "geofence": _shared_geofence(row.centre, row.radius_m), "on_site_limits": limits.as_dict()}


@functools.lru_cache(maxsize=4096)
def _shared_geofence(centre: tuple[float, float], radius_m: float) -> dict:
    """``geofence_of`` for the cards' facts, computed once per place: facts are only read (shared by every
    caller as ``CachedCard`` already is), so one dict per place serves them all."""
    return geofence_of(centre, radius_m)


async def card_facts(site: Site, limits: OnSiteLimits) -> dict:
    """The unit card for any staff caller (tenant name included: ``compose_card`` removes it for inspectors).
    It carries the on-site limits, so the mini program's pre-check uses the server's own numbers. The ORM
    reading, kept as the reference of inspections.card_sql (whose statement the scan runs)."""
    unit, building = site.unit, site.building
    lease = await Lease.filter(unit_id=unit.id, status__in=list(LIVE_LEASE_STATUSES)) \
        .order_by("-start_date", "-id").first().values("id", "status", "start_date", "end_date", "tenant__name")
    lease_brief = None
    if lease is not None:
        lease_brief = {"id": lease["id"], "status": lease["status"], "start_date": lease["start_date"].isoformat(),
                       "end_date": lease["end_date"].isoformat(), "tenant_name": lease["tenant__name"]}
    orders = await WorkOrder.filter(unit_id=unit.id, status__in=list(OPEN_WORK_ORDER_STATUSES)) \
        .order_by("due_at", "id").limit(WORK_ORDER_LIMIT).values("id", "type", "status", "title", "due_at")
    alerts = await Alert.filter(unit_id=unit.id, status__in=list(OPEN_ALERT_STATUSES)) \
        .order_by("-last_seen", "-id").limit(ALERT_LIMIT) \
        .values("id", "type", "severity", "status", "first_seen", "last_seen")
    brief = ("id", "state", "category", "requested_status", "no_change", "author_id", "captured_at",
             "confirm_deadline")
    # Two small queries on (unit_id, captured_at): taken from one "latest 10" list, either could be pushed out.
    last = await StatusReport.filter(unit_id=unit.id, state__in=list(INSPECTED_STATES)) \
        .order_by("-captured_at", "-id").first().values(*brief)
    pending = await StatusReport.filter(unit_id=unit.id, state__in=list(DECIDABLE_STATES)) \
        .order_by("-captured_at", "-id").limit(PENDING_LIMIT).values(*brief)
    return {
        "unit": {"code": unit.code, "name": unit.name, "property_type": unit.property_type,
                 "unit_type": unit.unit_type, "floor": unit.floor, "status": unit.status,
                 "status_version": unit.status_version,
                 "last_inspected_at": _iso(unit.last_inspected_at)},
        "building": {"id": building.id, "code": building.code, "name": building.name},
        "lease": lease_brief,
        "open_work_orders": [{**o, "due_at": _iso(o["due_at"])} for o in orders],
        "active_alerts": [{**a, "first_seen": _iso(a["first_seen"]), "last_seen": _iso(a["last_seen"])}
                          for a in alerts],
        "last_inspection": _report_brief(last) if last else None,
        "pending_reports": [_report_brief(r) for r in pending],
        "geofence": geofence_card(site),
        "on_site_limits": limits.as_dict(),
    }


def compose_card(role: Role, facts: dict) -> dict:
    """The card as ``role`` sees it: what it may request and confirm; inspectors get no tenant personal data."""
    lease = facts["lease"]
    if lease is not None and role not in CONFIRMERS:
        lease = {k: v for k, v in lease.items() if k != "tenant_name"}
    return {**facts, "lease": lease, "requestable_statuses": requestable_statuses(role, facts["unit"]["status"]),
            "can_confirm": role in CONFIRMERS}


def _report_brief(row: dict) -> dict:
    return {"id": row["id"], "state": row["state"], "category": row["category"],
            "requested_status": row["requested_status"], "no_change": row["no_change"],
            "author_id": row["author_id"], "captured_at": _iso(row["captured_at"]),
            "confirm_deadline": _iso(row.get("confirm_deadline"))}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


# --------------------------------------------------------------------------- location checks

def check_capture_time(captured_at: datetime, now: datetime, settings: Settings) -> None:
    if captured_at > now + FUTURE_TOLERANCE:
        raise ValidationFailed("captured_at is in the future", code="CAPTURED_AT_IN_FUTURE",
                               details={"captured_at": captured_at.isoformat(), "now": now.isoformat()})
    horizon = timedelta(days=settings.inspection_sync_horizon_days)
    if captured_at < now - horizon:
        raise ValidationFailed("captured_at is older than the sync horizon", code="CAPTURED_AT_TOO_OLD",
                               details={"captured_at": captured_at.isoformat(),
                                        "horizon_days": settings.inspection_sync_horizon_days})


def on_site_check(location: Any, site: Site, settings: Settings, *, history: FixHistory | None = None,
                  sticker: StickerRef | None = None, default_time: datetime | None = None) -> OnSiteVerdict:
    """The one on-site verification (inspections.onsite) with this deployment's limits; ``history`` (the user's
    trusted fixes) feeds the travel check. Refusals raise; ``verdict.suspected_mock`` means hold for review."""
    fix = onsite.fix_from(location, default_time=default_time)
    prior = history.around(fix.captured_at) if history is not None else ()
    return onsite.verify_on_site(fix, site.place, OnSiteLimits.from_settings(settings), sticker=sticker,
                                 qr_secret=settings.qr_secret, prior=prior)


async def confirm_presence(user_id: int, location: Any, site: Site, settings: Settings, *, now: datetime,
                           sticker: StickerRef | None = None) -> OnSiteVerdict:
    """The on-site check for an action that has no review state (cleaning completion, key handover): the same
    verification with the user's travel history, a suspected mock location refused (422, nothing written).
    A fix without its capture time (an online action) counts as captured ``now``."""
    captured_at = getattr(location, "captured_at", None)
    if captured_at is not None:
        check_capture_time(captured_at, now, settings)
    at = captured_at or now
    history = await FixHistory.load(user_id, at, at)
    verdict = on_site_check(location, site, settings, history=history, sticker=sticker, default_time=now)
    if verdict.suspected_mock:
        raise SuspectedMockLocation("this location fix looks simulated: turn off any mock-location app and try "
                                    "again on site", details=mock_details(verdict))
    return verdict


@dataclass
class FixHistory:
    """One user's trusted location fixes around a time span (reports and confirmations), for the travel check.
    A report held as a suspected mock location is no reference point (inspections.onsite explains why)."""

    user_id: int
    times: list[datetime] = field(default_factory=list)
    fixes: list[PriorFix] = field(default_factory=list)

    @classmethod
    async def load(cls, user_id: int, start: datetime, end: datetime) -> FixHistory:
        history = cls(user_id)
        window = {"captured_at__gte": start - timedelta(days=1), "captured_at__lte": end + timedelta(days=1)}
        reports = await StatusReport.filter(author_id=user_id, **window).values_list(
            "captured_at", "wgs84_lat", "wgs84_lng", "accuracy_m", "flags")
        rows = [(at, lat, lng, acc) for at, lat, lng, acc, flags in reports
                if Flag.SUSPECTED_MOCK_LOCATION.value not in (flags or [])]
        rows += await StatusConfirmation.filter(actor_id=user_id, **window).values_list(
            "captured_at", "wgs84_lat", "wgs84_lng", "accuracy_m")
        for at, lat, lng, acc in rows:
            history.add(at, (lat, lng), acc)
        return history

    def add(self, at: datetime, point: tuple[float, float], accuracy: float) -> None:
        i = bisect.bisect_right(self.times, at)
        self.times.insert(i, at)
        self.fixes.insert(i, PriorFix(at=at, point=point, accuracy_m=accuracy))

    def snapshot(self) -> tuple[list[datetime], list[PriorFix]]:
        return list(self.times), list(self.fixes)

    def restore(self, snapshot: tuple[list[datetime], list[PriorFix]]) -> None:
        """Back to a ``snapshot``: the fixes added since were of reports that were not stored after all."""
        self.times[:], self.fixes[:] = snapshot

    def around(self, at: datetime) -> list[PriorFix]:
        """The fixes the travel check compares ``at`` with: all at the latest time before it and all at the
        earliest time at or after it (what ``onsite.neighbours`` picks, found here by bisection)."""
        i = bisect.bisect_left(self.times, at)
        lo = i
        while lo > 0 and self.times[lo - 1] == self.times[i - 1]:
            lo -= 1
        hi = i
        while hi < len(self.times) and self.times[hi] == self.times[i]:
            hi += 1
        return self.fixes[lo:hi]


def photo_flags(report: StatusReport, photos: list[Photo], settings: Settings) -> list[str]:
    flags: set[str] = set()
    skew = timedelta(minutes=settings.photo_exif_max_skew_minutes)
    for photo in photos:
        if photo.exif_flags:
            flags.add(Flag.PHOTO_EXIF_UNREADABLE.value)
        if photo.exif_taken_at is not None and abs(photo.exif_taken_at - report.captured_at) > skew:
            flags.add(Flag.PHOTO_TIME_MISMATCH.value)
        if photo.exif_lat is not None and photo.exif_lng is not None:
            d = geo.distance_m((photo.exif_lat, photo.exif_lng), (report.wgs84_lat, report.wgs84_lng))
            if d > settings.photo_exif_max_distance_m:
                flags.add(Flag.PHOTO_PLACE_MISMATCH.value)
    return sorted(flags)


# --------------------------------------------------------------------------- status reports

@dataclass
class Outcome:
    result: str  # a SyncResult value
    report: StatusReport | None = None
    confirmation: StatusConfirmation | None = None
    original: str | None = None  # for DUPLICATE: the original result
    error: AppError | None = None
    status: int = 200

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"result": self.result}
        if self.original:
            data["original_result"] = self.original
        if self.report is not None:
            data["report"] = serialize_report(self.report)
        if self.confirmation is not None:
            data["confirmation"] = serialize_confirmation(self.confirmation)
        if self.error is not None:
            data["error"] = {"code": self.error.code, "message": self.error.message, "details": self.error.details}
        return data


class ClientIdReused(Conflict):
    code = "CLIENT_ID_REUSED"


def _duplicate_of(existing, author_field: str, principal: Principal, digest: str, original: str) -> Outcome:
    if getattr(existing, author_field) != principal.user_id or existing.content_hash != digest:
        raise ClientIdReused("this client_id was already used for different content",
                             details={"client_id": str(existing.client_id)})
    return Outcome(SyncResult.DUPLICATE, original=original)


async def _existing_report_outcome(client_id: UUID, principal: Principal, digest: str) -> Outcome | None:
    existing = await StatusReport.get_or_none(client_id=client_id)
    if existing is None:
        return None
    return _report_duplicate(existing, principal, digest)


def _report_duplicate(existing: StatusReport, principal: Principal, digest: str) -> Outcome:
    """DUPLICATE (the original result) for the stored report with the submitted client_id; raises
    ClientIdReused when it is someone else's or different content."""
    outcome = _duplicate_of(existing, "author_id", principal, digest, existing_result(existing))
    outcome.report = existing
    return outcome


def existing_result(report: StatusReport) -> str:
    """The result the report got when it was submitted (its state may have moved on since)."""
    return str(report.initial_result or report.state)


async def submit_report(principal: Principal, body: StatusReportIn, *, settings: Settings, now: datetime,
                        via_sync: bool = False, history: FixHistory | None = None,
                        known_photos: set[UUID] | None = None, maybe_duplicate: bool = True,
                        sites: dict[str, Site] | None = None, existing: StatusReport | None = None) -> Outcome:
    """Record a status report. Raises AppError for a refusal (nothing written); returns the outcome otherwise.

    ``maybe_duplicate=False`` (the sync looked the batch's client_ids up at once) skips the read; a racing
    duplicate is still caught by the unique constraint below. ``existing``: the stored report with this
    client_id, read by the caller (the sync reads a batch's stored reports at once): no read here either.
    """
    if principal.role not in REPORTERS:
        raise Forbidden(f"role {principal.role} may not submit status reports")
    digest = content_hash(body)
    if existing is not None:
        return _report_duplicate(existing, principal, digest)
    if maybe_duplicate:
        duplicate = await _existing_report_outcome(body.client_id, principal, digest)
        if duplicate:
            return duplicate
    site = await resolve_sticker(principal, body.qr, settings, sites)
    location = body.location
    if history is None:
        history = await FixHistory.load(principal.user_id, location.captured_at, location.captured_at)
    report, verdict, state, reason = _checked_report(principal, body, digest, site, settings=settings, now=now,
                                                     history=history, via_sync=via_sync)
    photo_ids = list(dict.fromkeys(body.photo_ids))
    if known_photos is None:
        known_photos = await _stored_photo_ids(photo_ids)
    missing = [p for p in photo_ids if p not in known_photos]

    if state is None and missing:
        state, reason = ReportState.AWAITING_MEDIA, "MISSING_PHOTOS"
    mark = await _initial_state(report, state, reason, settings=settings, now=now)
    try:
        await _store_report(report, photo_ids, missing, mark, building_id=site.unit.building_id, settings=settings,
                            now=now)
    except IntegrityError:
        duplicate = await _existing_report_outcome(body.client_id, principal, digest)
        if duplicate:
            return duplicate
        raise
    if not verdict.suspected_mock:
        history.add(location.captured_at, verdict.wgs84, location.accuracy_m)
    if report.state == ReportState.AWAITING_MEDIA and await advance_if_complete(report.id, settings=settings,
                                                                                 now=now):
        # A photo committed after the check inside the transaction found no link yet (``photo_arrived`` saw
        # no report): now that the report is committed, one of the two sides always sees the other.
        return Outcome(str(report.initial_result), report=await StatusReport.get(id=report.id), status=201)
    return Outcome(str(report.state), report=report, status=201)


def _checked_report(principal: Principal, body: StatusReportIn, digest: str, site: Site, *, settings: Settings,
                    now: datetime, history: FixHistory,
                    via_sync: bool) -> tuple[StatusReport, OnSiteVerdict, ReportState | None, str]:
    """A report's checks that need no database (capture time, on site, the request itself) and the report as
    submitted: (report, verdict, state, reason), state None to decide normally. Raises for a refusal."""
    check_capture_time(body.location.captured_at, now, settings)
    verdict = on_site_check(body.location, site, settings, history=history)
    photo_ids = list(dict.fromkeys(body.photo_ids))
    state, reason = _check_request(body, site.unit, photo_ids)
    report = _new_report(principal, body, digest, site.unit, verdict, photo_ids, reason, via_sync)
    return report, verdict, state, reason


@dataclass
class PreparedReport:
    """A report without photos, checked and decided in memory, not stored yet (``store_prepared_reports``)."""

    report: StatusReport
    mark: bool  # the unit counts as inspected once it is stored


async def prepare_report_without_photos(principal: Principal, body: StatusReportIn, *, settings: Settings,
                                        now: datetime, history: FixHistory, sites: dict[str, Site],
                                        via_sync: bool = True) -> PreparedReport:
    """``submit_report`` up to the write, for a report that cites no photo and whose client_id is not stored:
    the same refusals (raised, nothing written), the same decided state. Its fix joins ``history`` as the stored
    report's would; the caller stores it (or, if that fails, restores ``history`` and submits it on its own)."""
    if principal.role not in REPORTERS:
        raise Forbidden(f"role {principal.role} may not submit status reports")
    if body.photo_ids:
        raise ValueError("a report citing photos is submitted with submit_report")
    site = await resolve_sticker(principal, body.qr, settings, sites, keep=True)
    report, verdict, state, reason = _checked_report(principal, body, content_hash(body), site, settings=settings,
                                                     now=now, history=history, via_sync=via_sync)
    mark = await _initial_state(report, state, reason, settings=settings, now=now)  # no photo: no query
    if not verdict.suspected_mock:
        history.add(body.location.captured_at, verdict.wgs84, body.location.accuracy_m)
    return PreparedReport(report=report, mark=mark)


async def store_prepared_reports(prepared: list[PreparedReport]) -> None:
    """Insert the reports (one statement) and mark their units inspected, in one transaction: all or nothing
    (a client_id stored meanwhile by a racing request raises IntegrityError and none of them is written)."""
    from core import sql

    if not prepared:
        return
    async with in_transaction() as conn:
        rows = await sql.insert_returning(conn, [p.report for p in prepared], returning=("client_id", "id"))
        ids = {str(row["client_id"]): row["id"] for row in rows}
        for p in prepared:
            p.report.id = ids[str(p.report.client_id)]
            p.report._saved_in_db = True
        await mark_inspected_many([(p.report.unit_id, p.report.captured_at) for p in prepared if p.mark])


def _check_request(body: StatusReportIn, unit: Unit, photo_ids: list[UUID]) -> tuple[ReportState | None, str]:
    """Refuse a request no inspection may make (nothing written); a stale base version is not refused but turns
    the report into a CONFLICT for review. Returns that state and reason, or (None, "") to decide normally."""
    if body.requested_status is not None and body.requested_status not in REQUESTABLE_STATUSES:
        raise ValidationFailed(f"an inspection cannot request {body.requested_status}", code="STATUS_NOT_REQUESTABLE",
                               details={"requestable": sorted(s.value for s in REQUESTABLE_STATUSES)})
    if needs_evidence(body.category, body.requested_status) and not photo_ids:
        raise ValidationFailed("this report needs photo evidence", code="EVIDENCE_REQUIRED",
                               details={"category": str(body.category), "requested_status": body.requested_status})
    if body.requested_status is not None and body.base_status_version != unit.status_version:
        return ReportState.CONFLICT, "STALE_STATUS_VERSION"
    if body.requested_status is not None:
        from portfolio.service import check_transition

        check_transition(unit.status, body.requested_status)  # 409 INVALID_TRANSITION, nothing written
    return None, ""


async def photo_facts(photo_ids: list[UUID] | list[str]) -> dict[str, PhotoFacts]:
    """What each stored photo already belongs to (uploader, unit and its building), by photo id."""
    if not photo_ids:
        return {}
    rows = await Photo.filter(id__in=photo_ids).values("id", "uploaded_by_id", "unit_id", "unit__building_id")
    return {str(r["id"]): PhotoFacts(uploaded_by_id=r["uploaded_by_id"], unit_id=r["unit_id"],
                                     building_id=r["unit__building_id"]) for r in rows}


def refuse_citations(refusals: dict[str, str | None]) -> None:
    """Raise the most serious photo refusal (403 scope, 422 wrong unit or refund) in the one error shape."""
    found = first_refusal(refusals)
    if found:
        code, ids = found
        raise AppError(REFUSAL_MESSAGE[code], code=code, status=REFUSAL_STATUS[code], details={"photo_ids": ids})


def _own_photos(report: StatusReport, photo_ids: list[UUID] | list[str]):
    """The report's photos that count for it: its author's, attached to its unit."""
    return Photo.filter(id__in=photo_ids, uploaded_by_id=report.author_id, unit_id=report.unit_id)


async def _stored_photo_ids(photo_ids: list[UUID]) -> set[UUID]:
    """Which of the report's photos are already stored (uploaded before the report)."""
    if not photo_ids:
        return set()
    return set(cast(list[UUID], await Photo.filter(id__in=photo_ids).values_list("id", flat=True)))


def _new_report(principal: Principal, body: StatusReportIn, digest: str, unit: Unit, verdict: OnSiteVerdict,
                photo_ids: list[UUID], reason: str, via_sync: bool) -> StatusReport:
    """The report as submitted (not saved), with the unit's status as observed and the on-site verdict."""
    location = body.location
    return StatusReport(
        client_id=body.client_id, content_hash=digest, unit_id=unit.id, author_id=principal.user_id,
        category=body.category, requested_status=body.requested_status, no_change=body.no_change,
        observed_status=unit.status, state=ReportState.AWAITING_MEDIA, state_reason=reason, flags=verdict.flags,
        note=body.note, photo_ids=[str(p) for p in photo_ids], lat=location.lat, lng=location.lng,
        coord_system=location.coord_system, accuracy_m=location.accuracy_m, wgs84_lat=verdict.wgs84[0],
        wgs84_lng=verdict.wgs84[1], distance_m=round(verdict.distance_m, 1), captured_at=location.captured_at,
        client_created_at=body.client_created_at, base_status_version=body.base_status_version, via_sync=via_sync)


async def _initial_state(report: StatusReport, state: ReportState | None, reason: str, *, settings: Settings,
                         now: datetime) -> bool:
    """Set the report's state before it is saved: the one given (CONFLICT, AWAITING_MEDIA) or, with every photo
    here, the decided one. True when the unit now counts as inspected."""
    mark = False
    if state is None:
        mark = await _decide_state(report, settings=settings, now=now)
    else:
        report.state, report.state_reason = state, reason
        if state != ReportState.AWAITING_MEDIA:  # a CONFLICT goes to review: with its photos' flags too
            await _add_photo_flags(report, settings)
    report.initial_result = str(report.state)
    return mark


async def _store_report(report: StatusReport, photo_ids: list[UUID], missing: list[UUID], mark: bool, *,
                        building_id: int, settings: Settings, now: datetime) -> None:
    """Save the report, link its photos and mark the unit inspected, in one transaction. Raises IntegrityError
    for a concurrent duplicate (same client_id)."""
    async with in_transaction():
        await report.save()  # first write: a concurrent duplicate blocks here on the unique client_id
        if photo_ids:
            await ReportPhoto.bulk_create([ReportPhoto(report_id=report.id, photo_id=p) for p in photo_ids])
            await Photo.filter(id__in=photo_ids, unit_id__isnull=True, uploaded_by_id=report.author_id) \
                .update(unit_id=report.unit_id)
            # Checked here, after attaching, so an earlier item of the same sync batch is seen: rolls back.
            citation = Citation(by_user_id=report.author_id, unit_id=report.unit_id, building_id=building_id)
            refuse_citations({pid: report_refusal(facts, citation)
                              for pid, facts in (await photo_facts(photo_ids)).items()})
        if report.state == ReportState.AWAITING_MEDIA and \
                await _own_photos(report, missing).count() == len(missing):
            # Stored since the check above (the sync reads a batch's photos once, at its start).
            mark = await _decide_state(report, settings=settings, now=now)
            report.initial_result = str(report.state)
            await report.save(update_fields=[*DECIDED_FIELDS, "initial_result"])
        if mark:
            await mark_inspected(report.unit_id, report.captured_at)


async def _decide_state(report: StatusReport, *, settings: Settings, now: datetime) -> bool:
    """Every photo is here: decide the report's state (in memory). True when the unit now counts as inspected."""
    await _add_photo_flags(report, settings)
    if Flag.SUSPECTED_MOCK_LOCATION in report.flags:
        state, reason = ReportState.HELD_FOR_REVIEW, Flag.SUSPECTED_MOCK_LOCATION.value
    elif report.no_change:
        state, reason = ReportState.ACCEPTED, ""
    else:
        state, reason = ReportState.PENDING_CONFIRMATION, ""
    report.state, report.state_reason = state, reason
    if state in DECIDABLE_STATES:
        report.confirm_deadline = now + timedelta(hours=settings.inspection_confirm_window_hours)
    if state == ReportState.ACCEPTED:
        report.decided_at = now
    return state == ReportState.ACCEPTED


async def _add_photo_flags(report: StatusReport, settings: Settings) -> bool:
    """Merge the flags of the report's stored photos (EXIF time/place) into ``report.flags``; True if it grew."""
    photos = await Photo.filter(id__in=report.photo_ids).all() if report.photo_ids else []
    merged = sorted(set(report.flags) | set(photo_flags(report, photos, settings)))
    grew = merged != sorted(report.flags)
    report.flags = merged
    return grew


async def mark_inspected(unit_id: int, at: datetime) -> None:
    """Move ``last_inspected_at`` forward only (offline items arrive out of order). Plain SQL: building this
    OR-condition through the ORM cost more than the rest of a sync item's writes together."""
    from tortoise.connection import get_connection

    from core import sql

    conn = get_connection("default")  # the caller's transaction, when there is one
    value = Unit._meta.fields_map["last_inspected_at"].to_db_value(at, Unit)
    await sql.execute(conn, _mark_inspected_sql(), [value, unit_id])


async def mark_inspected_many(marks: list[tuple[int, datetime]]) -> None:
    """``mark_inspected`` for many (unit id, time) pairs in one round trip; a unit may come more than once."""
    from tortoise.connection import get_connection

    from core import sql

    if not marks:
        return
    field = Unit._meta.fields_map["last_inspected_at"]
    await sql.execute_many(get_connection("default"), _mark_inspected_sql(),
                           [[field.to_db_value(at, Unit), unit_id] for unit_id, at in marks])


def _mark_inspected_sql() -> str:
    from core import sql

    u = sql.names(Unit)
    return (f"UPDATE {u} SET {u.last_inspected_at} = ?1 WHERE {u.id} = ?2 AND "
            f"({u.last_inspected_at} IS NULL OR {u.last_inspected_at} < ?1)")


DECIDED_FIELDS = ("state", "state_reason", "flags", "confirm_deadline", "decided_at", "updated_at")


async def photo_arrived(photo_id: UUID, *, settings: Settings, now: datetime) -> list[int]:
    """A photo was stored (or uploaded again): continue every AWAITING_MEDIA report whose photos are all here;
    a CONFLICT report (in review whatever its photos) gets the photo's EXIF flags."""
    linked = await ReportPhoto.filter(photo_id=photo_id, report__state__in=[ReportState.AWAITING_MEDIA,
                                                                           ReportState.CONFLICT]) \
        .values_list("report_id", "report__state")
    advanced = []
    for report_id, state in linked:
        if state == ReportState.CONFLICT:
            async with in_transaction():  # the row locked: two photos arriving at once must not lose a flag
                report = await StatusReport.select_for_update().get(id=report_id)
                if await _add_photo_flags(report, settings):
                    await StatusReport.filter(id=report_id).update(flags=report.flags)
        elif await advance_if_complete(report_id, settings=settings, now=now):
            advanced.append(report_id)
    return advanced


async def advance_if_complete(report_id: int, *, settings: Settings, now: datetime) -> bool:
    """An AWAITING_MEDIA report whose photos are all stored moves on (once: the state change is claimed)."""
    async with in_transaction():
        report = await StatusReport.get(id=report_id)
        if report.state != ReportState.AWAITING_MEDIA:
            return False
        # A photo stored while the report was being saved may still be unattached: the author's own is the
        # report's unit's now.
        await Photo.filter(id__in=report.photo_ids, uploaded_by_id=report.author_id, unit_id__isnull=True) \
            .update(unit_id=report.unit_id)
        have = await _own_photos(report, report.photo_ids).count()
        if have < len(report.photo_ids):
            return False
        claimed = await StatusReport.filter(id=report.id, state=ReportState.AWAITING_MEDIA) \
            .update(state_reason="ADVANCING")
        if claimed != 1:
            return False
        mark = await _decide_state(report, settings=settings, now=now)
        await report.save(update_fields=list(DECIDED_FIELDS))
        if mark:
            await mark_inspected(report.unit_id, report.captured_at)
    return True


# --------------------------------------------------------------------------- double confirmation

async def report_for(principal: Principal, report_id: int | None = None, client_id: UUID | None = None) -> StatusReport:
    if report_id is not None:
        report = await StatusReport.get_or_none(id=report_id)
    elif client_id is not None:
        report = await StatusReport.get_or_none(client_id=client_id)
    else:
        raise ValidationFailed("name the report by report_id or report_client_id", code="VALIDATION_ERROR")
    if report is None:
        raise NotFound("status report not found")
    unit = await Unit.get(id=report.unit_id)
    principal.require_building(unit.building_id, "status report")
    return report


async def decide(principal: Principal, report: StatusReport, body: DecisionIn, *, settings: Settings,
                 now: datetime, history: FixHistory | None = None) -> Outcome:
    """A MANAGER/ADMIN, on site (sticker scanned, geofenced), confirms or rejects a pending report. A decision
    cannot be held for review, so a suspected mock location refuses it (nothing written)."""
    if principal.role not in CONFIRMERS:
        raise Forbidden(f"role {principal.role} may not confirm status reports")
    digest = content_hash(body, exclude={"report_id", "report_client_id"})
    existing = await StatusConfirmation.get_or_none(client_id=body.client_id)
    if existing is not None:
        return await _existing_decision(existing, report, principal, digest)
    if report.author_id == principal.user_id:
        raise Forbidden("you cannot confirm your own report", code="SELF_CONFIRMATION")
    if report.state in DECIDABLE_STATES and report.confirm_deadline and report.confirm_deadline <= now:
        await expire_report(report, now=now)
        raise Conflict("the confirmation window has passed", code="CONFIRMATION_EXPIRED",
                       details={"deadline": _iso(report.confirm_deadline)})
    if report.state not in DECIDABLE_STATES:
        raise Conflict(f"report is {report.state}, not waiting for a decision", code="REPORT_NOT_PENDING",
                       details={"state": str(report.state)})
    site = await resolve_sticker(principal, body.qr, settings)
    if site.unit.id != report.unit_id:
        raise StickerMismatch("this sticker belongs to another unit", details={"scanned_unit": site.unit.code})
    check_capture_time(body.location.captured_at, now, settings)
    if history is None:
        history = await FixHistory.load(principal.user_id, body.location.captured_at, body.location.captured_at)
    verdict = on_site_check(body.location, site, settings, history=history)
    if verdict.suspected_mock:
        raise SuspectedMockLocation("this location fix looks simulated: turn off any mock-location app and "
                                    "decide again on site", details=mock_details(verdict))
    if body.decision == Decision.REJECT and not body.reason.strip():
        raise ValidationFailed("a rejection needs a reason", code="REASON_REQUIRED")

    loc = body.location
    try:
        async with in_transaction():
            confirmation = StatusConfirmation(
                client_id=body.client_id, content_hash=digest, report_id=report.id, actor_id=principal.user_id,
                decision=body.decision, reason=body.reason, outcome=ReportState.REJECTED, lat=loc.lat, lng=loc.lng,
                coord_system=loc.coord_system, accuracy_m=loc.accuracy_m, wgs84_lat=verdict.wgs84[0],
                wgs84_lng=verdict.wgs84[1], distance_m=round(verdict.distance_m, 1), captured_at=loc.captured_at)
            await confirmation.save()  # unique per report: of two racing decisions one wins
            claimed = await StatusReport.filter(id=report.id, state=report.state).update(decided_at=now)
            if claimed != 1:
                raise Conflict("the report was decided concurrently", code="REPORT_NOT_PENDING")
            outcome, reason, applied = await _apply_decision(report, body, principal, now)
            await StatusReport.filter(id=report.id).update(state=outcome, state_reason=reason, applied_version=applied)
            confirmation.outcome = outcome
            await confirmation.save(update_fields=["outcome", "updated_at"])
    except IntegrityError:
        existing = await StatusConfirmation.get_or_none(client_id=body.client_id)
        if existing is not None:
            return await _existing_decision(existing, report, principal, digest)
        raise Conflict("the report was already decided", code="REPORT_NOT_PENDING") from None
    history.add(loc.captured_at, verdict.wgs84, loc.accuracy_m)
    report = await StatusReport.get(id=report.id)
    return Outcome(str(outcome), report=report, confirmation=confirmation)


def mock_details(verdict: OnSiteVerdict) -> dict:
    return {"reasons": [str(r) for r in verdict.mock_reasons], "speed_kmh": round(verdict.speed_kmh, 1)}


async def _existing_decision(existing: StatusConfirmation, report: StatusReport, principal: Principal,
                             digest: str) -> Outcome:
    """The decision's client_id was seen before: DUPLICATE only for the same author, content and report (the
    report is named outside the hashed content, so it is compared here)."""
    if existing.report_id != report.id:
        raise ClientIdReused("this client_id was already used for a decision on another report",
                             details={"client_id": str(existing.client_id)})
    outcome = _duplicate_of(existing, "actor_id", principal, digest, str(existing.outcome))
    outcome.confirmation, outcome.report = existing, await StatusReport.get(id=existing.report_id)
    return outcome


async def _apply_decision(report: StatusReport, body: DecisionIn, principal: Principal,
                          now: datetime) -> tuple[ReportState, str, int | None]:
    if body.decision == Decision.REJECT:
        return ReportState.REJECTED, "", None
    if report.requested_status is None:  # a held no_change inspection released by the reviewer
        await mark_inspected(report.unit_id, report.captured_at)
        return ReportState.ACCEPTED, "", None
    unit = await Unit.get(id=report.unit_id)
    if unit.status_version != report.base_status_version:
        return ReportState.CONFLICT, "STALE_STATUS_VERSION", None
    try:
        change = await change_unit_status(
            unit.id, UnitStatus(report.requested_status), source=StatusSource.INSPECTION, now=now,
            actor_id=principal.user_id, expected_version=report.base_status_version,
            reason=f"inspection report {report.id} by user {report.author_id}, confirmed on site"
                   + (f": {report.note[:300]}" if report.note else ""),
            reference=f"status_report:{report.id}")
    except AppError as exc:  # a concurrent change got there first: review, never overwrite
        return ReportState.CONFLICT, exc.code, None
    await mark_inspected(report.unit_id, report.captured_at)
    return ReportState.CONFIRMED, "", change.version


async def expire_report(report: StatusReport, *, now: datetime) -> bool:
    """PENDING_CONFIRMATION past its deadline → EXPIRED, and the author is notified (once)."""
    from notifications.outbox import enqueue_notification

    async with in_transaction():
        won = await StatusReport.filter(id=report.id, state__in=list(DECIDABLE_STATES),
                                        confirm_deadline__lte=now).update(
            state=ReportState.EXPIRED, state_reason="CONFIRMATION_WINDOW_PASSED", expired_at=now,
            expiry_notified=True)
        if won != 1:
            return False
        unit = await Unit.get(id=report.unit_id)
        await enqueue_notification(
            user_id=report.author_id, kind=EXPIRED_NOTIFICATION_KIND, dedupe_key=f"status_report_expired:{report.id}",
            payload={"report_id": report.id, "unit_code": unit.code, "requested_status": report.requested_status,
                     "captured_at": _iso(report.captured_at), "deadline": _iso(report.confirm_deadline)},
            now=now)
    report.state = ReportState.EXPIRED
    return True


async def expire_overdue(now: datetime, limit: int = 500) -> int:
    overdue = await StatusReport.filter(state__in=list(DECIDABLE_STATES), confirm_deadline__lte=now) \
        .order_by("confirm_deadline").limit(limit)
    count = 0
    for report in overdue:
        count += await expire_report(report, now=now)
    return count


async def expiry_service(settings: Settings, clock, stop) -> None:
    """Background service (cli.background): expire overdue confirmation requests once a minute."""
    import asyncio

    while not stop.is_set():
        try:
            expired = await expire_overdue(clock.now())
            if expired:
                log.info("expired %d status-change confirmation requests", expired)
        except Exception:  # noqa: BLE001 - keep the loop alive, log loudly
            log.exception("expiring confirmation requests failed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=60)


# --------------------------------------------------------------------------- serialization

def serialize_report(report: StatusReport) -> dict:
    return {
        "id": report.id, "client_id": str(report.client_id), "unit_id": report.unit_id,
        "author_id": report.author_id, "category": report.category, "requested_status": report.requested_status,
        "no_change": report.no_change, "observed_status": report.observed_status, "state": report.state,
        "state_reason": report.state_reason, "flags": report.flags, "note": report.note,
        "photo_ids": report.photo_ids,
        "location": {"lat": report.lat, "lng": report.lng, "coord_system": report.coord_system,
                     "accuracy_m": report.accuracy_m, "distance_m": report.distance_m},
        "captured_at": _iso(report.captured_at), "client_created_at": _iso(report.client_created_at),
        "base_status_version": report.base_status_version, "applied_version": report.applied_version,
        "confirm_deadline": _iso(report.confirm_deadline), "decided_at": _iso(report.decided_at),
        "expired_at": _iso(report.expired_at), "via_sync": report.via_sync,
        "created_at": _iso(report.created_at),
    }


def serialize_confirmation(c: StatusConfirmation) -> dict:
    return {"id": c.id, "client_id": str(c.client_id), "report_id": c.report_id, "actor_id": c.actor_id,
            "decision": c.decision, "reason": c.reason, "outcome": c.outcome, "distance_m": c.distance_m,
            "captured_at": _iso(c.captured_at), "created_at": _iso(c.created_at)}


PHOTO_VARIANTS = {"original": "original_key", "thumbnail": "thumbnail_key", "evidence": "evidence_key"}


async def photo_bytes(principal: Principal, photo_id: UUID, variant: str, settings: Settings) -> tuple[bytes, str]:
    """A photo file the caller may see (its unit's building, or their own unassigned upload): (bytes, type)."""
    from inspections.storage import storage_for

    photo = await Photo.get_or_none(id=photo_id)
    if photo is None or variant not in PHOTO_VARIANTS:
        raise NotFound("photo not found")
    if photo.unit_id is not None:
        unit = await Unit.get(id=photo.unit_id)
        principal.require_building(unit.building_id, "photo")
    elif not (principal.sees_all_buildings or photo.uploaded_by_id == principal.user_id):
        raise NotFound("photo not found")
    data = storage_for(settings).get(getattr(photo, PHOTO_VARIANTS[variant]))
    if data is None:
        raise AppError("the photo's file is missing from storage", code="PHOTO_FILE_MISSING", status=410)
    return data, photo.content_type if variant == "original" else "image/jpeg"
