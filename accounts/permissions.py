"""Who may do what, declared once: one named role set per action.

The routes' ``@access(...)`` (api/, console/) and the services' own checks (inspections, refunds, work orders)
both read these constants, and tests/route_cases builds its route × role table from them, so a rule is written in
exactly one place. tests/test_route_scope.py pins every set to its literal value: widening a set is a visible,
reviewed change of that test, never a side effect. New domains add their sets here (from ``accounts.choices``).
"""

from __future__ import annotations

from accounts.choices import STAFF_ROLES, Role

R = Role

# ---- audiences ----------------------------------------------------------------------------------------------
STAFF = frozenset(STAFF_ROLES)
TENANTS = frozenset({R.TENANT})
EVERYONE = STAFF | TENANTS
MANAGERS = frozenset({R.MANAGER, R.ADMIN})
ADMINS = frozenset({R.ADMIN})

# ---- inspections: status reports on site, the manager's double confirmation --------------------------------
STATUS_REPORTERS = frozenset({R.INSPECTOR, R.MANAGER, R.ADMIN})
#: Decide a report (confirm/reject); also the on-site double confirmation of a unit with a live lease.
STATUS_CONFIRMERS = MANAGERS

# ---- work orders -----------------------------------------------------------------------------------------------
#: Open work orders and move them along (executives and finance only read them).
WORK_ORDER_WRITERS = STAFF - {R.EXECUTIVE, R.FINANCE}
#: The statuses only a manager may set (the route declares the writers, the service checks this set).
WORK_ORDER_CLOSERS = MANAGERS

# ---- iot -----------------------------------------------------------------------------------------------------
#: Acknowledge/resolve alerts and complete the cleaning order on site.
ALERT_WRITERS = frozenset({R.INSPECTOR, R.MANAGER, R.ADMIN})
DEVICE_MANAGERS = MANAGERS

# ---- deposit refunds -----------------------------------------------------------------------------------------
REFUND_BOARD = frozenset({R.MANAGER, R.FINANCE, R.ADMIN, R.EXECUTIVE})
#: Each staff step's deliverable (mirrors refunds.choices.STEP_ROLE, checked by tests/test_route_scope.py).
REFUND_INSPECTORS = frozenset({R.INSPECTOR})
REFUND_SETTLERS = frozenset({R.FINANCE})
REFUND_APPROVERS = frozenset({R.MANAGER})
REFUND_PAYERS = frozenset({R.FINANCE})
#: May return a refund waiting at any step; everyone else only when they take the pending step.
REFUND_RETURN_ANY_STEP = MANAGERS
#: Who may reach the return endpoint at all: the any-step roles plus every staff step role (finance). The
#: service decides per refund (``refunds.service.may_return``): the pending step's role or REFUND_RETURN_ANY_STEP.
REFUND_RETURNERS = REFUND_RETURN_ANY_STEP | REFUND_SETTLERS | REFUND_APPROVERS | REFUND_PAYERS
REFUND_CANCELLERS = MANAGERS
#: Deduction lines with evidence, quotes and receipts.
REFUND_EVIDENCE = frozenset({R.INSPECTOR, R.FINANCE})

# ---- leasing and the ledger ----------------------------------------------------------------------------------
LEDGER_READERS = frozenset({R.FINANCE, R.MANAGER, R.ADMIN, R.EXECUTIVE})
LEDGER_WRITERS = frozenset({R.FINANCE, R.MANAGER, R.ADMIN})
WAIVE_APPROVERS = MANAGERS
HANDOVER_ROLES = frozenset({R.MANAGER, R.INSPECTOR, R.ADMIN})  # 交付 is done on site

# ---- collections (arrears/): the workbench of finance and the area managers --------------------------------
COLLECTIONS_READERS = frozenset({R.FINANCE, R.MANAGER, R.ADMIN, R.EXECUTIVE})
#: Contact notes, promises, one-click sends, grace requests on a tenant's behalf.
COLLECTIONS_WRITERS = frozenset({R.FINANCE, R.MANAGER, R.ADMIN})
#: 宽限期 is approved by the area manager.
GRACE_APPROVERS = MANAGERS
#: The lease's 违约金 clause is a contract term; waiving a late fee needs the approving manager.
LATE_FEE_CLAUSE_WRITERS = MANAGERS
LATE_FEE_WAIVERS = MANAGERS
# ---- occupancy figures, flags, the status-consistency audit ----------------------------------------------------
#: Every staff member reads the figures; scope decides what they cover (一线员工仅见负责楼宇, 高管可见全局).
OCCUPANCY_READERS = STAFF
#: Record and end the dated exclusion / short-stay flags of units in their buildings.
OCCUPANCY_FLAG_WRITERS = MANAGERS
#: Back-fill snapshots and (re)generate a month's audit: portfolio-wide writes.
OCCUPANCY_RUNNERS = ADMINS
OCCUPANCY_AUDIT_READERS = frozenset({R.MANAGER, R.FINANCE, R.ADMIN, R.EXECUTIVE})

# ---- bank reconciliation (statements, matches, the discrepancy list) ----------------------------------------
RECONCILIATION_READERS = frozenset({R.FINANCE, R.MANAGER, R.ADMIN, R.EXECUTIVE})
#: Import statements, confirm or reject matches, decide discrepancies (the decider is recorded).
RECONCILIATION_WRITERS = frozenset({R.FINANCE, R.MANAGER, R.ADMIN})

# ---- WeChat Pay (payments/): a tenant pays their own receivables ------------------------------------------
WECHAT_PAYERS = TENANTS
# ---- contract intake (contracts/): paper leases scanned or photographed, read, reviewed ------------------------
#: Upload contracts, read their drafts, confirm or correct the fields (finance types contracts in; managers too).
CONTRACT_INTAKE = frozenset({R.FINANCE, R.MANAGER, R.ADMIN})
#: Create the real lease from a reviewed draft: the same rule as creating a lease by hand (leases_create).
CONTRACT_LEASE_CREATORS = MANAGERS
# ---- lease health and tenant profiles (leasehealth/) -----------------------------------------------------------
#: Read lease health levels, their evidence and the monthly report; tenant profiles (in their buildings).
LEASE_HEALTH_READERS = frozenset({R.FINANCE, R.MANAGER, R.ADMIN, R.EXECUTIVE})

# ---- console (tenants never reach it) ------------------------------------------------------------------------
CONSOLE_VIEWERS = STAFF
#: Desk users: everything but the read-only inspector.
CONSOLE_DESK = frozenset({R.MANAGER, R.FINANCE, R.ADMIN, R.EXECUTIVE})
ALERT_HANDLERS = MANAGERS
WORK_ORDER_HANDLERS = MANAGERS
#: Return a refund card for correction from the desk: the same rule as the API's return endpoint.
REFUND_MOVERS = REFUND_RETURNERS
DEVICE_ADMINS = ADMINS
STAFF_ADMINS = ADMINS

# ---- accounts ----------------------------------------------------------------------------------------------
#: Deactivate a user (staff or tenant) and revoke every token and console session they hold.
USER_DEACTIVATORS = ADMINS

# ---- audit -------------------------------------------------------------------------------------------------
#: Read the audit log of privileged actions (it names who did what; personal data stays out of it).
AUDIT_READERS = ADMINS


def table() -> dict[str, frozenset[Role]]:
    """Every named set of this module (for the pinning test and the docs)."""
    return {name: value for name, value in globals().items()
            if name.isupper() and isinstance(value, frozenset) and name != "STAFF_ROLES"}
