"""The scanned unit's card read in one SQL statement: the unit and its building joined, the live lease, open work
orders, active alerts, the last inspection and the pending reports as correlated subqueries, each aggregated to
JSON by the database (``json_build_object``/``json_agg`` on PostgreSQL, ``json_object``/``json_group_array`` on
SQLite). No ORM query building and no model instances on the scan's hot path; ``inspections.service.card_facts``
(the ORM reading of the same card) stays the reference, and tests/test_inspections_card_sql.py compares the two
bodies for every role that can scan, on both databases.

What the database cannot write exactly as Python does stays in Python: the geofence (floats, the GCJ-02 offset)
and the on-site limits. Times are written by the statement as ``datetime.isoformat()`` writes a UTC time
(microseconds only when there are any, ``+00:00``); orderings are the ORM's with the id as the tie-break."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from alerts.choices import OPEN_ALERT_STATUSES
from core import sql
from inspections.choices import DECIDABLE_STATES, ReportState
from leasing.choices import LIVE_LEASE_STATUSES
from models.alerts import Alert
from models.inspections import StatusReport
from models.leasing import Lease, Tenant
from models.portfolio import Building, Unit
from models.workorders import WorkOrder
from workorders.choices import OPEN_WORK_ORDER_STATUSES

#: the card's list sizes (the ORM reading uses the same numbers)
WORK_ORDER_LIMIT = 20
ALERT_LIMIT = 20
PENDING_LIMIT = 10
INSPECTED_STATES = frozenset({ReportState.ACCEPTED, ReportState.CONFIRMED})

_CONSTANT = re.compile(r"[A-Z0-9_]+")


@dataclass(frozen=True)
class CardRow:
    """What the statement returns: the ids the sticker checks need, the geofence's inputs and the card's facts
    (as the ORM reading gives them, without ``geofence`` and ``on_site_limits``)."""

    unit_id: int
    building_id: int
    qr_version: int
    centre: tuple[float, float]
    radius_m: float
    facts: dict[str, Any]


async def read_card(unit_code: str) -> CardRow | None:
    """The card of the unit with ``unit_code`` (None: no such unit), in one statement on the default connection."""
    from tortoise.connection import get_connection

    conn = get_connection("default")
    rows = await sql.read(conn, card_statement(sql.dialect(conn)), [unit_code])
    if not rows:
        return None
    row = rows[0]
    lat, lng = row["lat"], row["lng"]
    centre = (lat, lng) if lat is not None and lng is not None else (row["b_lat"], row["b_lng"])
    return CardRow(unit_id=row["id"], building_id=row["building_id"], qr_version=row["qr_version"], centre=centre,
                   radius_m=float(row["radius_m"]), facts=json.loads(row["facts"]))


def _in(values: frozenset[Any]) -> str:
    """``('A', 'B')`` for our own status constants (never user input: checked to be plain upper-case names)."""
    items = sorted(str(v) for v in values)
    assert all(_CONSTANT.fullmatch(v) for v in items), items
    return "(" + ", ".join(f"'{v}'" for v in items) + ")"


class _Dialect:
    """The few things the two databases spell differently."""

    def __init__(self, postgres: bool):
        self.postgres = postgres

    def obj(self, *pairs: tuple[str, str]) -> str:
        fn = "json_build_object" if self.postgres else "json_object"
        return fn + "(" + ", ".join(f"'{k}', {v}" for k, v in pairs) + ")"

    def nested(self, subquery: str) -> str:
        """A JSON value from a scalar subquery: SQLite hands it over as text unless re-read with ``json()``."""
        return f"({subquery})" if self.postgres else f"json(({subquery}))"

    def array(self, element: str, order: str, source: str) -> str:
        """A JSON array of ``element`` over ``source`` (already ordered and limited), ``[]`` when empty."""
        if self.postgres:
            return f"COALESCE((SELECT json_agg({element} ORDER BY {order}) FROM ({source}) AS s), '[]'::json)"
        # SQLite before 3.44 has no ORDER BY in aggregates; rows of an ordered, limited subquery arrive in order
        return f"(SELECT json_group_array({element}) FROM ({source}) AS s)"

    def boolean(self, column: str) -> str:
        return column if self.postgres else f"json(CASE WHEN {column} THEN 'true' ELSE 'false' END)"

    def iso(self, column: str) -> str:
        """``column`` (a timestamp) as Python's ``isoformat()`` of it in UTC; NULL stays NULL."""
        if self.postgres:
            return (f"to_char({column} AT TIME ZONE 'UTC', CASE WHEN date_trunc('second', {column}) = {column} "
                    f"THEN 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"' ELSE 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"' END)")
        # Tortoise stores SQLite times as isoformat(" ") with the value's own offset: "YYYY-MM-DD HH:MM:SS[.ffffff]
        # [+HH:MM]". SQLite's date functions keep milliseconds only (and round), so the fraction is cut off before
        # the conversion to UTC and put back after it.
        frac = f"substr({column}, 20, 1) = '.'"
        offset = f"CASE WHEN {frac} THEN substr({column}, 27) ELSE substr({column}, 20) END"
        return (f"CASE WHEN {column} IS NULL THEN NULL ELSE "
                f"replace(datetime(substr({column}, 1, 19) || {offset}), ' ', 'T') || "
                f"CASE WHEN {frac} THEN substr({column}, 20, 7) ELSE '' END || '+00:00' END")

    def date(self, column: str) -> str:
        return column  # a DATE is written as YYYY-MM-DD by both (PostgreSQL's JSON of a date is ISO 8601)


@cache
def card_statement(dialect: str) -> str:
    """The statement for ``dialect`` (one parameter: the unit's code), built once from the models' names."""
    d = _Dialect(dialect == sql.POSTGRES)
    u, b, le, t = sql.names(Unit), sql.names(Building), sql.names(Lease), sql.names(Tenant)
    w, a, r = sql.names(WorkOrder), sql.names(Alert), sql.names(StatusReport)

    lease_obj = d.obj(("id", f"l.{le.id}"), ("status", f"l.{le.status}"),
                      ("start_date", d.date(f"l.{le.start_date}")), ("end_date", d.date(f"l.{le.end_date}")),
                      ("tenant_name", f"t.{t.name}"))
    lease = (f"SELECT {lease_obj} "
             f"FROM {le} AS l JOIN {t} AS t ON t.{t.id} = l.{le.tenant_id} "
             f"WHERE l.{le.unit_id} = u.{u.id} AND l.{le.status} IN {_in(LIVE_LEASE_STATUSES)} "
             f"ORDER BY l.{le.start_date} DESC, l.{le.id} DESC LIMIT 1")
    orders = d.array(
        d.obj(("id", "s.id"), ("type", "s.type"), ("status", "s.status"), ("title", "s.title"),
              ("due_at", d.iso("s.due_at"))),
        "s.due_at, s.id",
        f"SELECT {w.id} AS id, {w.type} AS type, {w.status} AS status, {w.title} AS title, {w.due_at} AS due_at "
        f"FROM {w} WHERE {w.unit_id} = u.{u.id} AND {w.status} IN {_in(OPEN_WORK_ORDER_STATUSES)} "
        f"ORDER BY {w.due_at}, {w.id} LIMIT {WORK_ORDER_LIMIT}")
    alerts = d.array(
        d.obj(("id", "s.id"), ("type", "s.type"), ("severity", "s.severity"), ("status", "s.status"),
              ("first_seen", d.iso("s.first_seen")), ("last_seen", d.iso("s.last_seen"))),
        "s.last_seen DESC, s.id DESC",
        f"SELECT {a.id} AS id, {a.type} AS type, {a.severity} AS severity, {a.status} AS status, "
        f"{a.first_seen} AS first_seen, {a.last_seen} AS last_seen "
        f"FROM {a} WHERE {a.unit_id} = u.{u.id} AND {a.status} IN {_in(OPEN_ALERT_STATUSES)} "
        f"ORDER BY {a.last_seen} DESC, {a.id} DESC LIMIT {ALERT_LIMIT}")

    def report(alias: str) -> str:
        return d.obj(("id", f"{alias}.id"), ("state", f"{alias}.state"), ("category", f"{alias}.category"),
                     ("requested_status", f"{alias}.requested_status"),
                     ("no_change", d.boolean(f"{alias}.no_change")), ("author_id", f"{alias}.author_id"),
                     ("captured_at", d.iso(f"{alias}.captured_at")),
                     ("confirm_deadline", d.iso(f"{alias}.confirm_deadline")))

    report_columns = (f"{r.id} AS id, {r.state} AS state, {r.category} AS category, "
                      f"{r.requested_status} AS requested_status, {r.no_change} AS no_change, "
                      f"{r.author_id} AS author_id, {r.captured_at} AS captured_at, "
                      f"{r.confirm_deadline} AS confirm_deadline")
    last = (f"SELECT {report('s')} FROM (SELECT {report_columns} FROM {r} WHERE {r.unit_id} = u.{u.id} "
            f"AND {r.state} IN {_in(INSPECTED_STATES)} ORDER BY {r.captured_at} DESC, {r.id} DESC LIMIT 1) AS s")
    pending = d.array(
        report("s"), "s.captured_at DESC, s.id DESC",
        f"SELECT {report_columns} FROM {r} WHERE {r.unit_id} = u.{u.id} AND {r.state} IN {_in(DECIDABLE_STATES)} "
        f"ORDER BY {r.captured_at} DESC, {r.id} DESC LIMIT {PENDING_LIMIT}")

    facts = d.obj(
        ("unit", d.obj(("code", f"u.{u.code}"), ("name", f"u.{u.name}"), ("property_type", f"u.{u.property_type}"),
                       ("unit_type", f"u.{u.unit_type}"), ("floor", f"u.{u.floor}"), ("status", f"u.{u.status}"),
                       ("status_version", f"u.{u.status_version}"),
                       ("last_inspected_at", d.iso(f"u.{u.last_inspected_at}")))),
        ("building", d.obj(("id", f"b.{b.id}"), ("code", f"b.{b.code}"), ("name", f"b.{b.name}"))),
        ("lease", d.nested(lease)),
        ("open_work_orders", orders),
        ("active_alerts", alerts),
        ("last_inspection", d.nested(last)),
        ("pending_reports", pending),
    )
    param = "$1" if d.postgres else "?"
    return (f"SELECT u.{u.id} AS id, u.{u.building_id} AS building_id, u.{u.qr_version} AS qr_version, "
            f"u.{u.lat} AS lat, u.{u.lng} AS lng, b.{b.lat} AS b_lat, b.{b.lng} AS b_lng, "
            f"b.{b.geofence_radius_m} AS radius_m, {facts} AS facts "
            f"FROM {u} AS u JOIN {b} AS b ON b.{b.id} = u.{u.building_id} WHERE u.{u.code} = {param}")
