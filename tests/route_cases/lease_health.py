from accounts.permissions import LEASE_HEALTH_READERS
from tests.route_cases import RouteCase

P = "/api/v1/lease-health"
CASES = {
    "lease_health.lease_health_list": RouteCase("GET", lambda w, s: f"{P}/leases?building_id={s.building.id}",
                                                roles=LEASE_HEALTH_READERS, scoped=False),
    "lease_health.lease_health_detail": RouteCase("GET", lambda w, s: f"{P}/leases/{s.lease.id}",
                                                  roles=LEASE_HEALTH_READERS),
    "lease_health.lease_health_tenant_profile": RouteCase(
        "GET", lambda w, s: f"{P}/tenants/{s.lease.tenant_id}/profile", roles=LEASE_HEALTH_READERS),
    "lease_health.lease_health_report": RouteCase("GET", lambda w, s: f"{P}/reports/{w.now:%Y-%m}",
                                                  roles=LEASE_HEALTH_READERS, scoped=False),
    "lease_health.lease_health_report_xlsx": RouteCase("GET", lambda w, s: f"{P}/reports/{w.now:%Y-%m}/export.xlsx",
                                                       roles=LEASE_HEALTH_READERS, scoped=False),
}
