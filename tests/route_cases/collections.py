from accounts.permissions import (
    COLLECTIONS_READERS,
    COLLECTIONS_WRITERS,
    GRACE_APPROVERS,
    LATE_FEE_CLAUSE_WRITERS,
    LATE_FEE_WAIVERS,
)
from accounts.permissions import TENANTS as TENANT
from tests.route_cases import RouteCase


def rid(s) -> int:
    return s.extra["receivable"].id


P = "/api/v1/collections"
CASES = {
    "collections.collections_receivables": RouteCase(
        "GET", lambda w, s: f"{P}/receivables?building_id={s.building.id}", roles=COLLECTIONS_READERS, scoped=False),
    "collections.collections_summary": RouteCase("GET", lambda w, s: f"{P}/summary", roles=COLLECTIONS_READERS,
                                                 scoped=False),
    "collections.collections_tenant_history": RouteCase(
        "GET", lambda w, s: f"{P}/tenants/{s.lease.tenant_id}", roles=COLLECTIONS_READERS),
    "collections.collections_add_note": RouteCase(
        "POST", lambda w, s: f"{P}/tenants/{s.lease.tenant_id}/notes", roles=COLLECTIONS_WRITERS,
        body=lambda w, s: {"lease_id": s.lease.id, "kind": "CALL", "note": "电话催收"}),
    "collections.collections_send": RouteCase("POST", lambda w, s: f"{P}/receivables/{rid(s)}/send",
                                              roles=COLLECTIONS_WRITERS),
    "collections.collections_request_grace": RouteCase(
        "POST", lambda w, s: f"{P}/leases/{s.lease.id}/grace", roles=COLLECTIONS_WRITERS, body=lambda w, s: {},
        notes="own building: 409 GRACE_EXISTS (the world has a request)"),
    "collections.collections_grace_approve": RouteCase(
        "POST", lambda w, s: f"{P}/grace/{s.extra['grace'].id}/approve", roles=GRACE_APPROVERS,
        body=lambda w, s: {}),
    "collections.collections_grace_reject": RouteCase(
        "POST", lambda w, s: f"{P}/grace/{s.extra['grace'].id}/reject", roles=GRACE_APPROVERS,
        body=lambda w, s: {}),
    "collections.collections_late_fee_clause": RouteCase(
        "PUT", lambda w, s: f"{P}/leases/{s.lease.id}/late-fee-clause", roles=LATE_FEE_CLAUSE_WRITERS,
        body=lambda w, s: {"kind": "DAILY_RATE", "daily_rate": "0.0005", "cap_rate": "0.2"}),
    "collections.collections_waive_late_fee": RouteCase(
        "POST", lambda w, s: f"{P}/receivables/{rid(s)}/late-fee/waive", roles=LATE_FEE_WAIVERS,
        body=lambda w, s: {"reason": "scope test"}),
    "collections.collections_tasks": RouteCase("GET", lambda w, s: f"{P}/tasks", roles=COLLECTIONS_READERS,
                                               scoped=False),
    "collections.collections_task_done": RouteCase(
        "POST", lambda w, s: f"{P}/tasks/{s.extra['collection_task'].id}/done", roles=COLLECTIONS_WRITERS,
        body=lambda w, s: {"note": "已电话联系"}),
    "me_collections.me_collection_messages": RouteCase("GET", lambda w, s: "/api/v1/me/collections/messages",
                                                       roles=TENANT, scoped=False),
    "me_collections.me_request_grace": RouteCase(
        "POST", lambda w, s: f"/api/v1/me/collections/leases/{s.lease.id}/grace", roles=TENANT, scoped=False,
        tenant_own=True, body=lambda w, s: {}),
}
