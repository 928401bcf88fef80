"""What the audit log records: one named action per kind of privileged change or export."""

from __future__ import annotations

from enum import StrEnum


class AuditAction(StrEnum):
    STAFF_CREATED = "staff.created"
    STAFF_ROLE_CHANGED = "staff.role_changed"
    STAFF_DUTIES_CHANGED = "staff.duties_changed"
    USER_DEACTIVATED = "user.deactivated"
    UNIT_STATUS_OVERRIDDEN = "unit.status_overridden"
    RECEIVABLE_WAIVED = "receivable.waived"
    LATE_FEE_WAIVED = "late_fee.waived"
    BINDING_CODE_ISSUED = "credential.binding_code_issued"
    PASSWORD_SET = "credential.password_set"
    DEVICE_CREDENTIAL_ISSUED = "credential.device_issued"
    EXPORT = "export"
    STATEMENT_MATCH_REVERSED = "reconciliation.match_reversed"
    TRANSFER_CANCEL_REQUESTED = "wechatpay.transfer_cancel_requested"
    TRANSFER_CANCELLED = "wechatpay.transfer_cancelled"


#: The table the append-only triggers protect.
AUDIT_TABLE = "audit_events"
