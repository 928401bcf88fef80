from accounts.permissions import ALERT_WRITERS, TENANTS
from accounts.permissions import WORK_ORDER_WRITERS as STAFF_WRITERS
from tests.route_cases import ADMINS, ALL_STAFF, EVERYONE, MANAGERS, RouteCase

CASES = {
    "health.health": RouteCase("GET", lambda w, s: "/api/v1/health", public=True, scoped=False),
    "metrics.metrics": RouteCase("GET", lambda w, s: "/api/v1/metrics", public=True, scoped=False),
    "auth.auth_wechat_login": RouteCase("POST", lambda w, s: "/api/v1/auth/wechat/login", public=True,
                                        scoped=False, body=lambda w, s: {"code": "nope"}),
    "auth.auth_bind": RouteCase("POST", lambda w, s: "/api/v1/auth/bind", public=True, scoped=False,
                                body=lambda w, s: {"binding_code": "XXXXXXXX"},
                                extra={"own_token": "needs the pending binding_token from login"}),
    "auth.auth_dev_login": RouteCase("POST", lambda w, s: "/api/v1/auth/dev-login", public=True, scoped=False,
                                     body=lambda w, s: {"user_id": w.admin.id}),
    "auth.auth_me": RouteCase("GET", lambda w, s: "/api/v1/auth/me", roles=EVERYONE, scoped=False),
    "units.units_list": RouteCase("GET", lambda w, s: f"/api/v1/units?building={s.building.code}",
                                  roles=ALL_STAFF, scoped=False),
    "units.units_detail": RouteCase("GET", lambda w, s: f"/api/v1/units/{s.unit.code}", roles=ALL_STAFF),
    "units.units_change_status": RouteCase(
        "POST", lambda w, s: f"/api/v1/units/{s.unit.code}/status", roles=MANAGERS,
        body=lambda w, s: {"status": "OFF_MARKET", "reason": "scope test"}),
    "leases.leases_list": RouteCase("GET", lambda w, s: "/api/v1/leases", roles=ALL_STAFF, scoped=False),
    "leases.leases_create": RouteCase(
        "POST", lambda w, s: "/api/v1/leases", roles=MANAGERS,
        body=lambda w, s: {"unit_code": s.unit.code, "tenant_name": "新租户", "start_date": "2027-01-01",
                           "end_date": "2027-12-31", "monthly_rent_fen": 300000, "deposit_fen": 600000}),
    "leases.leases_detail": RouteCase("GET", lambda w, s: f"/api/v1/leases/{s.lease.id}", roles=ALL_STAFF),
    "leases.leases_sign": RouteCase("POST", lambda w, s: f"/api/v1/leases/{s.lease.id}/sign", roles=MANAGERS),
    "leases.leases_in_force": RouteCase("POST", lambda w, s: f"/api/v1/leases/{s.lease.id}/in-force",
                                        roles=MANAGERS),
    "leases.leases_tenant_code": RouteCase("POST", lambda w, s: f"/api/v1/leases/{s.lease.id}/tenant-code",
                                           roles=MANAGERS),
    "me_leases.me_leases": RouteCase("GET", lambda w, s: "/api/v1/me/leases", roles=TENANTS,
                                     scoped=False),
    "workorders.workorders_list": RouteCase("GET", lambda w, s: "/api/v1/work-orders", roles=ALL_STAFF,
                                            scoped=False),
    "workorders.workorders_create": RouteCase(
        "POST", lambda w, s: "/api/v1/work-orders", roles=STAFF_WRITERS,
        body=lambda w, s: {"type": "REPAIR", "unit_code": s.unit.code, "title": "漏水", "client_ref": "scope"}),
    "workorders.workorders_detail": RouteCase(
        "GET", lambda w, s: f"/api/v1/work-orders/{s.extra['cleaning_order'].id}", roles=ALL_STAFF),
    "workorders.workorders_transition": RouteCase(
        "POST", lambda w, s: f"/api/v1/work-orders/{s.extra['cleaning_order'].id}/transition",
        roles=STAFF_WRITERS, body=lambda w, s: {"status": "IN_PROGRESS"}),
    # a cleaning order takes no visit result (409): the walk checks role and scope only
    "workorders.workorders_visit_result": RouteCase(
        "POST", lambda w, s: f"/api/v1/work-orders/{s.extra['cleaning_order'].id}/visit-result",
        roles=ALERT_WRITERS, body=lambda w, s: {"confirmed": False, "note": "nobody else lives there"}),
    "admin.admin_portfolio_import": RouteCase("POST", lambda w, s: "/api/v1/admin/portfolio/import?format=json",
                                              roles=ADMINS, scoped=False, body=lambda w, s: []),
    "admin.admin_users_list": RouteCase("GET", lambda w, s: "/api/v1/admin/users", roles=ADMINS, scoped=False),
    "admin.admin_users_create": RouteCase(
        "POST", lambda w, s: "/api/v1/admin/users", roles=ADMINS, scoped=False,
        body=lambda w, s: {"name": "新员工", "role": "INSPECTOR",
                           "duties": [{"building_id": s.building.id, "duty": "INSPECTOR"}]}),
    "admin.admin_users_binding_code": RouteCase(
        "POST", lambda w, s: f"/api/v1/admin/users/{s.inspector.id}/binding-code", roles=ADMINS, scoped=False),
    # the target is a user of the other side, whose token no role of this walk uses
    "admin.admin_audit_list": RouteCase("GET", lambda w, s: "/api/v1/admin/audit?action=user.", roles=ADMINS,
                                        scoped=False),
    "admin.admin_users_deactivate": RouteCase(
        "POST", lambda w, s: f"/api/v1/admin/users/{w.b.manager.id}/deactivate", roles=ADMINS, scoped=False),
}
