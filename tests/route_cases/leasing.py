from accounts.permissions import HANDOVER_ROLES, LEDGER_READERS, LEDGER_WRITERS, WAIVE_APPROVERS
from accounts.permissions import TENANTS as TENANT
from tests.route_cases import MANAGERS, RouteCase

SITES = {"A": (22.5329, 113.9305), "B": (30.2084, 120.2120)}


def on_site(w, s):
    lat, lng = SITES[s.label]
    return {"location": {"lat": lat, "lng": lng, "accuracy_m": 10, "coord_system": "wgs84",
                         "captured_at": w.now.isoformat()}}


def import_form(w, s):
    rows = ("合同编号,房源编号,租户名称,联系电话,起租日,到期日,付款方式,月租金(元),押金(元)\n"
            f"SCOPE-{s.label},{s.unit.code},范围测试,13700000000,2027-01-01,2027-12-31,季付,3000,6000\n")
    return {"files": {"file": ("leases.csv", rows.encode(), "text/csv")}}


CASES = {
    "leases.leases_handover": RouteCase("POST", lambda w, s: f"/api/v1/leases/{s.lease.id}/handover",
                                        roles=HANDOVER_ROLES, body=on_site),
    "leases.leases_amend": RouteCase(
        "POST", lambda w, s: f"/api/v1/leases/{s.lease.id}/amendments", roles=MANAGERS,
        body=lambda w, s: {"kind": "EXTENSION", "reason": "scope test", "end_date": "2028-06-30"}),
    "leases.leases_amendments": RouteCase("GET", lambda w, s: f"/api/v1/leases/{s.lease.id}/amendments",
                                          roles=LEDGER_READERS),
    "leases.leases_schedule": RouteCase("GET", lambda w, s: f"/api/v1/leases/{s.lease.id}/schedule",
                                        roles=LEDGER_READERS),
    "leases.leases_schedule_retry": RouteCase("POST", lambda w, s: f"/api/v1/leases/{s.lease.id}/schedule/retry",
                                              roles=LEDGER_WRITERS),
    "leases.leases_payment": RouteCase(
        "POST", lambda w, s: f"/api/v1/leases/{s.lease.id}/payments", roles=LEDGER_WRITERS,
        body=lambda w, s: {"amount_fen": 100, "paid_at": w.now.isoformat(), "method": "CASH"}),
    "leases.leases_statement": RouteCase("GET", lambda w, s: f"/api/v1/leases/{s.lease.id}/statement",
                                         roles=LEDGER_READERS),
    "leases.leases_import": RouteCase("POST", lambda w, s: "/api/v1/leases/import?dry_run=true",
                                      roles=LEDGER_WRITERS, scoped=False, form=import_form),
    "me_leases.me_lease_statement": RouteCase("GET", lambda w, s: f"/api/v1/me/leases/{s.lease.id}/statement",
                                              roles=TENANT, scoped=False, tenant_own=True),
    "receivables.receivables_list": RouteCase("GET", lambda w, s: f"/api/v1/receivables?building_id={s.building.id}",
                                              roles=LEDGER_READERS, scoped=False),
    "receivables.receivables_waive": RouteCase(
        "POST", lambda w, s: f"/api/v1/receivables/{s.extra['receivable'].id}/waive", roles=WAIVE_APPROVERS,
        body=lambda w, s: {"reason": "scope test"}),
    "schedule_failures.schedule_failures_list": RouteCase("GET", lambda w, s: "/api/v1/schedule-failures",
                                                          roles=LEDGER_READERS, scoped=False),
}
