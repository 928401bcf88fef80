"""Who may do what in the ledger, declared once (until the shared permissions module lands): finance and the
building's managers read and record; a manager approves waivers; a tenant sees only their own statement."""

from accounts.choices import Role

LEDGER_READERS = frozenset({Role.FINANCE, Role.MANAGER, Role.ADMIN, Role.EXECUTIVE})
LEDGER_WRITERS = frozenset({Role.FINANCE, Role.MANAGER, Role.ADMIN})
WAIVE_APPROVERS = frozenset({Role.MANAGER, Role.ADMIN})
TENANT = frozenset({Role.TENANT})
HANDOVER_ROLES = frozenset({Role.MANAGER, Role.INSPECTOR, Role.ADMIN})  # 交付 is done on site
