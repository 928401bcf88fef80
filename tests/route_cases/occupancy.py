from accounts.permissions import (
    OCCUPANCY_AUDIT_READERS,
    OCCUPANCY_FLAG_WRITERS,
    OCCUPANCY_READERS,
    OCCUPANCY_RUNNERS,
)
from tests.route_cases import RouteCase

P = "/api/v1/occupancy"

CASES = {
    "occupancy.occupancy_day": RouteCase(
        "GET", lambda w, s: f"{P}/day?as_of=2026-10-31&level=unit&building_id={s.building.id}",
        roles=OCCUPANCY_READERS),
    "occupancy.occupancy_month": RouteCase(
        "GET", lambda w, s: f"{P}/month?month=2026-10&level=unit_type&building_id={s.building.id}",
        roles=OCCUPANCY_READERS),
    "occupancy.occupancy_trend": RouteCase(
        "GET", lambda w, s: f"{P}/trend?from=2026-09&to=2026-10&building_id={s.building.id}",
        roles=OCCUPANCY_READERS),
    "occupancy.occupancy_days": RouteCase("GET", lambda w, s: f"{P}/days", roles=OCCUPANCY_READERS, scoped=False),
    "occupancy.occupancy_snapshot": RouteCase("POST", lambda w, s: f"{P}/snapshots", roles=OCCUPANCY_RUNNERS,
                                              scoped=False, body=lambda w, s: {"day": "2026-10-31"}),
    "occupancy.occupancy_flags": RouteCase("GET", lambda w, s: f"{P}/flags?unit={s.unit.code}",
                                           roles=OCCUPANCY_READERS),
    "occupancy.occupancy_flag_add": RouteCase(
        "POST", lambda w, s: f"{P}/flags", roles=OCCUPANCY_FLAG_WRITERS,
        body=lambda w, s: {"unit_code": s.occupied_unit.code, "kind": "SHORT_STAY", "valid_from": "2026-11-01",
                           "reason": "scope test", "lease_id": s.lease.id},
        notes="a second allowed caller on the same unit gets 409 FLAG_OVERLAPS"),
    "occupancy.occupancy_flag_end": RouteCase(
        "POST", lambda w, s: f"{P}/flags/{s.extra['occupancy_flag'].id}/end", roles=OCCUPANCY_FLAG_WRITERS,
        body=lambda w, s: {"valid_to": "2026-10-31"}, notes="a second allowed caller gets 409 FLAG_ENDED"),
    "occupancy.occupancy_audits": RouteCase("GET", lambda w, s: f"{P}/audits", roles=OCCUPANCY_AUDIT_READERS,
                                            scoped=False, notes="counted within the caller's buildings"),
    "occupancy.occupancy_audit_run": RouteCase("POST", lambda w, s: f"{P}/audits", roles=OCCUPANCY_RUNNERS,
                                               scoped=False, body=lambda w, s: {"month": "2026-10"}),
    "occupancy.occupancy_audit": RouteCase("GET", lambda w, s: f"{P}/audits/2026-10", roles=OCCUPANCY_AUDIT_READERS,
                                           scoped=False, notes="findings within the caller's buildings"),
    "occupancy.occupancy_audit_xlsx": RouteCase("GET", lambda w, s: f"{P}/audits/2026-10/export.xlsx",
                                                roles=OCCUPANCY_AUDIT_READERS, scoped=False),
    "occupancy.occupancy_audit_pdf": RouteCase("GET", lambda w, s: f"{P}/audits/2026-10/export.pdf",
                                               roles=OCCUPANCY_AUDIT_READERS, scoped=False),
}
