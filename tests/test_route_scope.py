"""Every registered route × every role: role checks, building scope, tenant isolation.

A route without an entry in tests/route_cases fails here, so a new endpoint cannot skip this table."""

from __future__ import annotations

import json

import pytest

from accounts.choices import Role
from tests.route_cases import all_cases

CASES = all_cases()
REFUSED = {401, 403, 404}
ROLES = [Role.INSPECTOR, Role.MANAGER, Role.FINANCE, Role.ADMIN, Role.EXECUTIVE, Role.TENANT]
SCOPED_ROLES = {Role.INSPECTOR, Role.MANAGER, Role.FINANCE}


def registered_routes(app) -> dict[str, object]:
    """Every API route and every console route (pages, partials, forms, static files)."""
    prefix = f"{app.name}."
    return {route.name[len(prefix):]: route for route in app.router.routes
            if route.path.startswith(("api/", "console"))}


def is_console(case, world, side) -> bool:
    return case.path(world, side).startswith("/console")


def anonymous_refused(response, console: bool) -> bool:
    """401, or for a console page the redirect to the sign-in page."""
    if response.status == 401:
        return True
    return console and response.status == 303 and response.headers.get("location", "").startswith("/console/login")


def headers_for(world, case, side, user) -> dict[str, str]:
    return world.console_auth(user) if is_console(case, world, side) else world.auth(user)


def test_every_route_has_a_case(app):
    routes = set(registered_routes(app))
    missing = sorted(routes - set(CASES))
    stale = sorted(set(CASES) - routes)
    assert not missing, f"routes without a scope case in tests/route_cases: {missing}"
    assert not stale, f"scope cases for routes that do not exist: {stale}"


async def call(client, case, world, side, headers):
    path = case.path(world, side)
    kwargs = {"headers": headers}
    if case.form is not None:
        kwargs.update(case.form(world, side))
    elif case.body is not None:
        kwargs["content"] = json.dumps(case.body(world, side))
    _, response = await getattr(client, case.method.lower())(path, **kwargs)
    return response


@pytest.mark.parametrize("route_name", sorted(CASES))
async def test_route_role_scope(route_name, client, world):
    case = CASES[route_name]
    a, b = world.a, world.b
    failures = []

    console = is_console(case, world, a)
    response = await call(client, case, world, a, {})
    if case.public:
        demanded_auth = anonymous_refused(response, console) and (
            console or response.json["error"]["code"] == "AUTH_REQUIRED")
        if not case.extra.get("own_token") and demanded_auth:
            failures.append("public route demanded auth")
    elif not anonymous_refused(response, console):
        failures.append(f"anonymous got {response.status}, expected 401")

    for role in ROLES:
        if case.public:
            continue
        user = world.user_for(role, "a")
        headers = headers_for(world, case, a, user)
        if role not in case.roles:
            response = await call(client, case, world, a, headers)
            if response.status != 403:
                failures.append(f"{role} (not allowed) got {response.status}, expected 403")
            continue
        own = await call(client, case, world, a, headers)
        if own.status in REFUSED:
            failures.append(f"{role} on own building got {own.status}: {own.json}")
        if case.scoped or case.tenant_own:
            other = await call(client, case, world, b, headers)
            must_refuse = role in SCOPED_ROLES or role == Role.TENANT
            if must_refuse and other.status not in (403, 404):
                failures.append(f"{role} of A reached B's object: {other.status}")
            if not must_refuse and other.status in REFUSED:
                failures.append(f"{role} refused on B's object: {other.status} {other.json}")
    assert not failures, f"{route_name}: " + "; ".join(failures)


IN, M, F, A, E, T = (Role.INSPECTOR, Role.MANAGER, Role.FINANCE, Role.ADMIN, Role.EXECUTIVE, Role.TENANT)
#: The single table of who may do what (accounts.permissions), pinned: the cases above read it, so widening a set
#: there must show up here as a reviewed change.
PINNED = {
    "STAFF": {IN, M, F, A, E}, "TENANTS": {T}, "EVERYONE": {IN, M, F, A, E, T}, "MANAGERS": {M, A}, "ADMINS": {A},
    "STATUS_REPORTERS": {IN, M, A}, "STATUS_CONFIRMERS": {M, A},
    "WORK_ORDER_WRITERS": {IN, M, A}, "WORK_ORDER_CLOSERS": {M, A},
    "ALERT_WRITERS": {IN, M, A}, "DEVICE_MANAGERS": {M, A},
    "REFUND_BOARD": {M, F, A, E}, "REFUND_INSPECTORS": {IN}, "REFUND_SETTLERS": {F}, "REFUND_APPROVERS": {M},
    "REFUND_PAYERS": {F}, "REFUND_RETURN_ANY_STEP": {M, A}, "REFUND_RETURNERS": {F, M, A},
    "REFUND_CANCELLERS": {M, A}, "REFUND_EVIDENCE": {IN, F},
    "LEDGER_READERS": {F, M, A, E}, "LEDGER_WRITERS": {F, M, A}, "WAIVE_APPROVERS": {M, A},
    "HANDOVER_ROLES": {M, IN, A},
    "COLLECTIONS_READERS": {F, M, A, E}, "COLLECTIONS_WRITERS": {F, M, A}, "GRACE_APPROVERS": {M, A},
    "LATE_FEE_CLAUSE_WRITERS": {M, A}, "LATE_FEE_WAIVERS": {M, A},
    "RECONCILIATION_READERS": {F, M, A, E}, "RECONCILIATION_WRITERS": {F, M, A},
    "LEASE_HEALTH_READERS": {F, M, A, E},
    "CONSOLE_VIEWERS": {IN, M, F, A, E}, "CONSOLE_DESK": {M, F, A, E}, "ALERT_HANDLERS": {M, A},
    "WORK_ORDER_HANDLERS": {M, A}, "REFUND_MOVERS": {M, F, A}, "DEVICE_ADMINS": {A}, "STAFF_ADMINS": {A},
    "USER_DEACTIVATORS": {A}, "AUDIT_READERS": {A},
    "OCCUPANCY_READERS": {IN, M, F, A, E}, "OCCUPANCY_FLAG_WRITERS": {M, A}, "OCCUPANCY_RUNNERS": {A},
    "OCCUPANCY_AUDIT_READERS": {M, F, A, E},
    "WECHAT_PAYERS": {T},
    "CONTRACT_INTAKE": {F, M, A}, "CONTRACT_LEASE_CREATORS": {M, A},
}


def test_permission_table_is_pinned():
    from accounts import permissions

    assert {name: set(roles) for name, roles in permissions.table().items()} == PINNED


def test_refund_step_sets_match_the_workflow():
    """The steps' route sets and the service's return rule are the refunds workflow's STEP_ROLE, not a copy."""
    from accounts import permissions as p
    from refunds.choices import STEP_ROLE, RefundStep, next_step
    from refunds.service import may_return

    assert {STEP_ROLE[RefundStep.INSPECTED]} == p.REFUND_INSPECTORS
    assert {STEP_ROLE[RefundStep.SETTLED]} == p.REFUND_SETTLERS
    assert {STEP_ROLE[RefundStep.APPROVED]} == p.REFUND_APPROVERS
    assert {STEP_ROLE[RefundStep.PAID]} == p.REFUND_PAYERS
    returnable = (RefundStep.INSPECTED, RefundStep.SETTLED, RefundStep.APPROVED)
    may_ever = {role for role in Role for step in returnable if may_return(role, next_step(step))}
    assert may_ever == p.REFUND_RETURNERS == p.REFUND_MOVERS
