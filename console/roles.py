"""Who may do what in the console, declared once. Inspectors see their own buildings read-only; tenants never
reach the console. (When the shared permissions module lands, these sets move there.)"""

from __future__ import annotations

from accounts.choices import Role

#: Everyone who may open console pages (scoped to their buildings unless portfolio-wide).
VIEWERS = frozenset({Role.INSPECTOR, Role.MANAGER, Role.FINANCE, Role.ADMIN, Role.EXECUTIVE})
#: Desk users: everything but the read-only inspector.
DESK = frozenset({Role.MANAGER, Role.FINANCE, Role.ADMIN, Role.EXECUTIVE})
ALERT_HANDLERS = frozenset({Role.MANAGER, Role.ADMIN})
WORK_ORDER_HANDLERS = frozenset({Role.MANAGER, Role.ADMIN})
#: The refunds board: the roles of the API's board; moving a card is the step's own role (refunds.choices).
REFUND_BOARD = frozenset({Role.MANAGER, Role.FINANCE, Role.ADMIN, Role.EXECUTIVE})
REFUND_MOVERS = frozenset({Role.MANAGER, Role.FINANCE, Role.ADMIN})
DEVICE_ADMINS = frozenset({Role.ADMIN})
STAFF_ADMINS = frozenset({Role.ADMIN})
