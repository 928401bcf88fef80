"""Device registry (register, bind, CSV import), reading series, cleaning confirmation by sticker scan."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from tortoise.expressions import RawSQL
from tortoise.functions import Sum
from tortoise.transactions import in_transaction

from accounts.scope import Principal
from config.settings import Settings
from core.errors import AppError, BadRequest, Conflict, NotFound, ValidationFailed
from core.validation import field_errors
from iot.choices import DeviceFormat, DeviceKind
from models.iot import CommissioningEntry, Device
from models.portfolio import Building, Unit
from models.workorders import WorkOrder
from portfolio.choices import StatusSource, UnitStatus
from portfolio.service import change_unit_status
from workorders.choices import WorkOrderStatus, WorkOrderType
from workorders.service import transition_work_order


class DeviceIn(BaseModel):
    external_id: str = Field(min_length=1, max_length=128)
    format: DeviceFormat
    kind: DeviceKind
    unit_code: str | None = Field(None, max_length=40)
    installed_at: datetime | None = None
    invert: bool = False
    report_period_s: int | None = Field(None, ge=1, le=7 * 86400)


def serialize_device(d: Device, unit_code: str | None = None) -> dict:
    return {"id": d.id, "external_id": d.external_id, "format": d.format, "kind": d.kind, "unit_id": d.unit_id,
            "unit_code": unit_code, "building_id": d.building_id,
            "installed_at": d.installed_at.isoformat() if d.installed_at else None,
            "last_seen": d.last_seen.isoformat() if d.last_seen else None, "online": d.online,
            "battery": d.battery, "battery_low": d.battery_low, "invert": d.invert,
            "report_period_s": d.report_period_s,
            "availability": {"online": d.available,
                             "at": d.available_at.isoformat() if d.available_at else None},
            "heartbeat_at": d.heartbeat_at.isoformat() if d.heartbeat_at else None}


def serialize_commissioning(c: CommissioningEntry) -> dict:
    return {"id": c.id, "format": c.format, "external_id": c.external_id, "topic": c.topic,
            "sample_payload": c.sample_payload, "first_seen": c.first_seen.isoformat(),
            "last_seen": c.last_seen.isoformat(), "message_count": c.message_count}


async def register_device(body: DeviceIn, principal: Principal | None) -> tuple[Device, bool]:
    """Create or update (same format + external id) a device and bind it to a unit. Returns (device, created).
    Registering removes the device from the commissioning list."""
    unit = None
    if body.unit_code:
        unit = await Unit.get_or_none(code=body.unit_code)
        if unit is None or (principal is not None and not principal.can_see_building(unit.building_id)):
            raise NotFound(f"unit {body.unit_code} not found", code="UNKNOWN_UNIT",
                           details={"unit_code": body.unit_code})
    async with in_transaction():
        device = await Device.get_or_none(format=body.format, external_id=body.external_id)
        fields: dict[str, Any] = {"kind": body.kind, "unit_id": unit.id if unit else None,
                  "building_id": unit.building_id if unit else None, "invert": body.invert,
                  "report_period_s": body.report_period_s}
        if body.installed_at:
            fields["installed_at"] = body.installed_at
        if device is None:
            device = await Device.create(format=body.format, external_id=body.external_id, **fields)
            created = True
        else:
            if principal is not None and device.building_id and not principal.can_see_building(device.building_id):
                raise Conflict("this device is registered in another building", code="DEVICE_TAKEN")
            if device.kind != body.kind:
                # the running state (register value, contact state) belongs to the old kind
                fields.update(last_total=None, last_total_at=None, last_contact_open=None, last_door_at=None)
            await Device.filter(id=device.id).update(**fields)
            device = await Device.get(id=device.id)
            created = False
        await CommissioningEntry.filter(format=body.format, external_id=body.external_id).delete()
    return device, created


CSV_COLUMNS = ("external_id", "format", "kind", "unit_code", "installed_at", "invert", "report_period_s")


async def import_devices_csv(data: bytes, principal: Principal | None, *, dry_run: bool = False) -> dict:
    """All rows or none: every row is validated (and its unit checked) before anything is written."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadRequest("the file is not UTF-8 text", code="UNREADABLE_FILE") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"external_id", "format", "kind"} <= set(reader.fieldnames):
        raise BadRequest("CSV header must include external_id, format, kind (optional: unit_code, installed_at, "
                         "invert, report_period_s)", code="UNREADABLE_FILE")
    parsed, rejected, seen = [], [], set()
    units = {}
    for number, row in enumerate(reader, start=2):
        clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items() if k in CSV_COLUMNS}
        clean = {k: v for k, v in clean.items() if v not in ("", None)}
        if "format" in clean:
            clean["format"] = clean["format"].upper()
        if "kind" in clean:
            clean["kind"] = clean["kind"].upper()
        try:
            body = DeviceIn.model_validate(clean)
        except ValidationError as exc:
            rejected.append({"row": number, "external_id": clean.get("external_id"), "errors": field_errors(exc)})
            continue
        errors = []
        key = (body.format, body.external_id)
        if key in seen:
            errors.append({"field": "external_id", "message": "appears twice in the file"})
        seen.add(key)
        if body.unit_code:
            if body.unit_code not in units:
                units[body.unit_code] = await Unit.get_or_none(code=body.unit_code)
            unit = units[body.unit_code]
            if unit is None or (principal is not None and not principal.can_see_building(unit.building_id)):
                errors.append({"field": "unit_code", "message": f"unknown unit {body.unit_code}"})
        if errors:
            rejected.append({"row": number, "external_id": body.external_id, "errors": errors})
        else:
            parsed.append(body)
    report: dict[str, Any] = {"rows": len(parsed) + len(rejected), "rejected": rejected, "created": 0, "updated": 0,
              "dry_run": dry_run}
    if rejected or dry_run:
        return report
    async with in_transaction():
        for body in parsed:
            _, created = await register_device(body, principal)
            report["created" if created else "updated"] += 1
    return report


async def device_for(principal: Principal, device_id: int) -> Device:
    device = await Device.get_or_none(id=device_id)
    if device is None:
        raise NotFound("device not found")
    if device.building_id is None:
        if not principal.sees_all_buildings:
            raise NotFound("device not found")
    else:
        principal.require_building(device.building_id, "device")
    return device


async def reading_series(unit: Unit, start: datetime, end: datetime, bucket: str = "hour") -> dict:
    """Hourly (or daily) consumption and door openings of a unit, per device kind, for charts."""
    from models.iot import HourlyRollup

    if end <= start:
        raise ValidationFailed("end must be after start", code="VALIDATION_ERROR")
    if end - start > timedelta(days=93):
        raise ValidationFailed("at most 93 days per request", code="RANGE_TOO_LARGE")
    first_hour, end_hour = int(start.timestamp()) // 3600, -(-int(end.timestamp()) // 3600)
    qs = HourlyRollup.filter(unit_id=unit.id, hour_ts__gte=first_hour, hour_ts__lt=end_hour)
    if bucket == "day":
        # Summed in the database, one row per kind and day: a 90-day chart reads ~270 rows, not ~6,500.
        # Days are China Standard Time days (UTC+8, no DST), as before.
        rows = await (qs.annotate(slot=RawSQL("(hour_ts + 8) / 24"), value_sum=Sum("value"),
                                  message_sum=Sum("messages"))
                      .group_by("kind", "slot").values("kind", "slot", "value_sum", "message_sum"))
        rows = [{"kind": r["kind"], "hour_ts": int(r["slot"]) * 24 - 8, "value": r["value_sum"] or 0.0,
                 "messages": r["message_sum"] or 0} for r in rows]
    else:
        rows = await qs.order_by("hour_ts").values("kind", "hour_ts", "value", "messages")
    series: dict[str, dict[int, list]] = {}
    for row in rows:
        kind = "ELECTRICITY" if row["kind"] == DeviceKind.PLUG else row["kind"]
        slot = row["hour_ts"]
        points = series.setdefault(kind, {})
        point = points.setdefault(slot, [0.0, 0])
        point[0] += row["value"]
        point[1] += row["messages"]
    unit_names = {"ELECTRICITY": "kWh", "WATER": "m3", "DOOR": "openings"}
    return {"unit_code": unit.code, "bucket": bucket, "start": start.isoformat(), "end": end.isoformat(),
            "series": {kind: {"unit": unit_names[kind], "points": [
                {"t": datetime.fromtimestamp(slot * 3600, tz=start.tzinfo).isoformat(), "value": round(v, 4),
                 "messages": m} for slot, (v, m) in sorted(points.items())]} for kind, points in series.items()}}


async def confirm_cleaning(order: WorkOrder, *, qr: str, location: Any, principal: Principal, now: datetime,
                           settings: Settings, note: str = "") -> dict:
    """Cleaning completion confirmed by scanning the unit's sticker on site: the order goes DONE and the unit
    moves on (MOVE_OUT_PENDING → PENDING_DELIVERY when a signed, not yet delivered lease waits for it, otherwise
    VACANT). The on-site check is the inspections' one (inspections.onsite: sticker, accuracy, geofence, mock location);
    a genuine sticker of another unit keeps this endpoint's 409 WRONG_UNIT. The unit's change is recorded as
    made on site by the person (source INSPECTION), not by a sensor."""
    from inspections.onsite import StickerMismatch
    from inspections.qr import parse_sticker
    from inspections.service import Site, confirm_presence
    from leasing.choices import LeaseStatus
    from models.leasing import Lease

    if order.type != WorkOrderType.CLEANING or order.unit_id is None:
        raise Conflict("only a unit's cleaning work order is confirmed by a sticker scan", code="NOT_CLEANING")
    unit = await Unit.get(id=order.unit_id)
    building = await Building.get(id=unit.building_id)
    ref = parse_sticker(qr)
    try:
        verdict = await confirm_presence(principal.user_id, location, Site(unit=unit, building=building), settings,
                                         now=now, sticker=ref)
    except StickerMismatch:
        raise AppError("this sticker belongs to another unit", code="WRONG_UNIT", status=409,
                       details={"scanned": ref.unit_code, "expected": unit.code}) from None
    note = f"confirmed on site by sticker scan ({verdict.distance_m:.0f} m)" + (f": {note[:400]}" if note else "")
    status = WorkOrderStatus(order.status)
    path = {WorkOrderStatus.OPEN: [WorkOrderStatus.ASSIGNED, WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.DONE],
            WorkOrderStatus.ASSIGNED: [WorkOrderStatus.IN_PROGRESS, WorkOrderStatus.DONE],
            WorkOrderStatus.IN_PROGRESS: [WorkOrderStatus.DONE]}.get(status)
    if path is None:
        raise Conflict(f"the cleaning order is already {order.status}", code="ALREADY_DONE")
    moved_to = None
    async with in_transaction():
        for target in path:
            order = await transition_work_order(order, target, now=now, actor_id=principal.user_id, note=note,
                                                assignee_id=principal.user_id)
        unit = await Unit.get(id=unit.id)
        if unit.status == UnitStatus.MOVE_OUT_PENDING:
            # A tenancy signed but not yet handed over waits for the unit; the ACTIVE lease of the tenant moving
            # out does not.
            waiting = await Lease.filter(unit_id=unit.id, status=LeaseStatus.SIGNED,
                                         end_date__gte=now.date()).exists()
            moved_to = UnitStatus.PENDING_DELIVERY if waiting else UnitStatus.VACANT
            await change_unit_status(unit.id, moved_to, source=StatusSource.INSPECTION, now=now,
                                     actor_id=principal.user_id, reason="cleaning confirmed on site",
                                     reference=f"wo:{order.id}")
    return {"work_order_id": order.id, "work_order_status": order.status, "unit_code": unit.code,
            "unit_status": moved_to or unit.status, "distance_m": round(verdict.distance_m, 1)}
