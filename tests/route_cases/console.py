"""Console routes in the route × role walk (cookie session + CSRF header instead of a bearer token; anonymous
page requests are redirected to the sign-in page). Tenants are refused everywhere (403)."""

from accounts.permissions import (
    ALERT_HANDLERS,
    REFUND_APPROVERS,
    REFUND_PAYERS,
    REFUND_SETTLERS,
    WORK_ORDER_HANDLERS,
)
from accounts.permissions import CONSOLE_DESK as DESK
from accounts.permissions import REFUND_MOVERS as MOVERS
from tests.route_cases import ADMINS, ALL_STAFF, RouteCase


def form(data):
    return lambda w, s: {"data": data(w, s) if callable(data) else data}


def rid(s) -> int:
    return s.extra["refund"].id


CASES = {
    "console_auth.login_form": RouteCase("GET", lambda w, s: "/console/login", public=True, scoped=False),
    "console_auth.login": RouteCase("POST", lambda w, s: "/console/login", public=True, scoped=False,
                                    form=form({"login": "nobody", "password": "x"}),
                                    notes="without the sign-in form's CSRF cookie: 403 CSRF_FAILED"),
    "console_auth.static": RouteCase("GET", lambda w, s: "/console/static/console.css", public=True, scoped=False),
    "console_auth.home": RouteCase("GET", lambda w, s: "/console", roles=ALL_STAFF, scoped=False),
    "console_auth.logout": RouteCase("POST", lambda w, s: "/console/logout", roles=ALL_STAFF, scoped=False,
                                     extra={"ends_session": True}),
    "console_board.board": RouteCase("GET", lambda w, s: f"/console/board?building={s.building.code}",
                                     roles=ALL_STAFF, scoped=False, notes="other buildings: an empty board"),
    "console_units.unit": RouteCase("GET", lambda w, s: f"/console/units/{s.unit.code}", roles=ALL_STAFF),
    "console_units.unit_chart": RouteCase("GET", lambda w, s: f"/console/units/{s.unit.code}/chart?days=90",
                                          roles=ALL_STAFF),
    "console_units.photo": RouteCase("GET", lambda w, s: f"/console/photos/{s.extra['photo'].id}/thumbnail",
                                     roles=ALL_STAFF, notes="world photos have no files: own building 410"),
    "console_alerts.alerts": RouteCase("GET", lambda w, s: "/console/alerts", roles=ALL_STAFF, scoped=False),
    "console_alerts.alert_acknowledge": RouteCase(
        "POST", lambda w, s: f"/console/alerts/{s.extra['alert'].id}/acknowledge", roles=ALERT_HANDLERS,
        form=form({"note": "seen"})),
    "console_alerts.alert_resolve": RouteCase(
        "POST", lambda w, s: f"/console/alerts/{s.extra['alert'].id}/resolve", roles=ALERT_HANDLERS,
        form=form({"note": "checked on site"})),
    "console_workorders.workorders": RouteCase("GET", lambda w, s: "/console/work-orders", roles=ALL_STAFF,
                                               scoped=False),
    "console_workorders.workorder_assign": RouteCase(
        "POST", lambda w, s: f"/console/work-orders/{s.extra['cleaning_order'].id}/assign", roles=WORK_ORDER_HANDLERS,
        form=lambda w, s: {"data": {"assignee_id": str(s.inspector.id)}}),
    "console_workorders.workorder_close": RouteCase(
        "POST", lambda w, s: f"/console/work-orders/{s.extra['cleaning_order'].id}/close", roles=WORK_ORDER_HANDLERS,
        form=form({"note": "done"})),
    "console_refunds.refunds": RouteCase("GET", lambda w, s: "/console/refunds", roles=DESK, scoped=False),
    "console_refunds.refund_settle": RouteCase("POST", lambda w, s: f"/console/refunds/{rid(s)}/settle",
                                               roles=REFUND_SETTLERS, form=form({}),
                                               notes="own building: 409 (the world's refund is APPLIED)"),
    "console_refunds.refund_approve": RouteCase("POST", lambda w, s: f"/console/refunds/{rid(s)}/approve",
                                                roles=REFUND_APPROVERS, form=form({})),
    "console_refunds.refund_pay": RouteCase("POST", lambda w, s: f"/console/refunds/{rid(s)}/pay",
                                            roles=REFUND_PAYERS, form=form({"bank_receipt_ref": "X"})),
    "console_refunds.refund_return": RouteCase("POST", lambda w, s: f"/console/refunds/{rid(s)}/return",
                                               roles=MOVERS, form=form({"reason": "scope test"})),
    "console_refunds.refund_document": RouteCase(
        "GET", lambda w, s: f"/console/refunds/{rid(s)}/documents/{s.extra['refund_document'].id}", roles=DESK,
        notes="own building: 410 DOCUMENT_FILE_MISSING"),
    "console_leases.lease_expiry": RouteCase("GET", lambda w, s: "/console/leases/expiry", roles=ALL_STAFF,
                                             scoped=False),
    "console_devices.commissioning": RouteCase("GET", lambda w, s: "/console/devices/commissioning", roles=ADMINS,
                                               scoped=False),
    "console_devices.commissioning_bind": RouteCase(
        "POST", lambda w, s: "/console/devices/commissioning/bind", roles=ADMINS, scoped=False,
        form=lambda w, s: {"data": {"format": "GENERIC", "external_id": f"new-door-{s.label}", "kind": "DOOR",
                                    "unit_code": s.unit.code}}),
    "console_devices.dead_letters": RouteCase("GET", lambda w, s: "/console/devices/dead-letters", roles=ADMINS,
                                              scoped=False),
    "console_admin.staff": RouteCase("GET", lambda w, s: "/console/admin/staff", roles=ADMINS, scoped=False),
    "console_admin.staff_invite": RouteCase(
        "POST", lambda w, s: "/console/admin/staff", roles=ADMINS, scoped=False,
        form=lambda w, s: {"data": {"name": "新员工", "login": f"new-{s.label}", "role": "INSPECTOR",
                                    "duty": f"{s.building.id}:INSPECTOR"}}),
    "console_admin.staff_update": RouteCase(
        "POST", lambda w, s: f"/console/admin/staff/{s.inspector.id}", roles=ADMINS, scoped=False,
        form=lambda w, s: {"data": {"role": "INSPECTOR", "duty": f"{s.building.id}:INSPECTOR"}}),
    "console_admin.staff_password": RouteCase(
        "POST", lambda w, s: f"/console/admin/staff/{s.inspector.id}/password", roles=ADMINS, scoped=False),
}
