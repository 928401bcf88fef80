"""The console's role sets, re-exported from the single table in accounts.permissions. Inspectors see their own
buildings read-only; tenants never reach the console (tests/test_console_auth.py checks every set here)."""

from __future__ import annotations

from accounts.permissions import (
    ALERT_HANDLERS,
    DEVICE_ADMINS,
    REFUND_APPROVERS,
    REFUND_BOARD,
    REFUND_MOVERS,
    REFUND_PAYERS,
    REFUND_SETTLERS,
    STAFF_ADMINS,
    WORK_ORDER_HANDLERS,
)
from accounts.permissions import CONSOLE_DESK as DESK
from accounts.permissions import CONSOLE_VIEWERS as VIEWERS

__all__ = ["ALERT_HANDLERS", "DESK", "DEVICE_ADMINS", "REFUND_APPROVERS", "REFUND_BOARD", "REFUND_MOVERS",
           "REFUND_PAYERS", "REFUND_SETTLERS", "STAFF_ADMINS", "VIEWERS", "WORK_ORDER_HANDLERS"]
