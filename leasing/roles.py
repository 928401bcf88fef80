"""The ledger's role sets, re-exported from the single table in accounts.permissions."""

from accounts.permissions import HANDOVER_ROLES, LEDGER_READERS, LEDGER_WRITERS, WAIVE_APPROVERS
from accounts.permissions import TENANTS as TENANT

__all__ = ["HANDOVER_ROLES", "LEDGER_READERS", "LEDGER_WRITERS", "TENANT", "WAIVE_APPROVERS"]
