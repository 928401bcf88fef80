import uuid

from accounts.permissions import STATUS_CONFIRMERS
from accounts.permissions import STATUS_REPORTERS as REPORTERS
from tests.route_cases import ALL_STAFF, MANAGERS, RouteCase
from tests.support.inspections_helpers import decision_body, png_bytes, report_body, sticker

CASES = {
    "inspections.scan": RouteCase("POST", lambda w, s: "/api/v1/scan", roles=ALL_STAFF,
                                  body=lambda w, s: {"qr": sticker(s.unit)}),
    "inspections.status_reports_create": RouteCase(
        "POST", lambda w, s: "/api/v1/status-reports", roles=REPORTERS, body=lambda w, s: report_body(s, w.now)),
    "inspections.status_reports_list": RouteCase("GET", lambda w, s: "/api/v1/status-reports", roles=ALL_STAFF,
                                                 scoped=False),
    "inspections.status_reports_detail": RouteCase(
        "GET", lambda w, s: f"/api/v1/status-reports/{s.extra['pending_report'].id}", roles=ALL_STAFF),
    "inspections.status_reports_decide": RouteCase(
        "POST", lambda w, s: f"/api/v1/status-reports/{s.extra['pending_report'].id}/decision", roles=STATUS_CONFIRMERS,
        body=lambda w, s: decision_body(s, w.now, decision="reject", reason="scope test")),
    "inspections.sync": RouteCase("POST", lambda w, s: "/api/v1/sync", roles=REPORTERS, scoped=False,
                                  body=lambda w, s: {"items": [report_body(s, w.now)]},
                                  notes="per-item scope is covered in tests/test_inspections_sync.py"),
    "inspections.photos_upload": RouteCase(
        "POST", lambda w, s: "/api/v1/photos", roles=REPORTERS,
        form=lambda w, s: {"files": {"file": ("p.png", png_bytes(), "image/png")},
                           "data": {"photo_id": str(uuid.uuid4()), "unit_code": s.unit.code}}),
    "inspections.photos_file": RouteCase(
        "GET", lambda w, s: f"/api/v1/photos/{s.extra['photo'].id}/thumbnail", roles=ALL_STAFF,
        notes="world photos have no files: own building answers 410 PHOTO_FILE_MISSING"),
    "inspections.units_label": RouteCase("GET", lambda w, s: f"/api/v1/units/{s.unit.code}/label", roles=MANAGERS),
    "inspections.units_sticker": RouteCase("GET", lambda w, s: f"/api/v1/units/{s.unit.code}/sticker",
                                           roles=MANAGERS),
    "inspections.units_sticker_reissue": RouteCase(
        "POST", lambda w, s: f"/api/v1/units/{s.unit.code}/sticker/reissue", roles=MANAGERS),
    "inspections.units_timeline": RouteCase("GET", lambda w, s: f"/api/v1/units/{s.unit.code}/timeline",
                                            roles=ALL_STAFF),
    "inspections.inspections_due": RouteCase("GET", lambda w, s: "/api/v1/inspections/due", roles=ALL_STAFF,
                                             scoped=False),
    "inspections.inspections_contradictions": RouteCase(
        "GET", lambda w, s: "/api/v1/inspections/contradictions", roles=ALL_STAFF, scoped=False),
}
