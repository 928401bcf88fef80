"""Deposit refund steps (押金退还六节点), who takes each, and deduction categories."""

from enum import StrEnum

from accounts.choices import Role, StaffDuty


class RefundStep(StrEnum):
    APPLIED = "APPLIED"  # 退租申请 (tenant)
    INSPECTED = "INSPECTED"  # 现场查验 (operations specialist / inspector)
    SETTLED = "SETTLED"  # 费用核算 (finance)
    APPROVED = "APPROVED"  # 审批确认 (regional manager)
    PAID = "PAID"  # 款项发放 (finance)
    COMPLETED = "COMPLETED"  # 到账完成 (tenant confirms, or automatically)
    CANCELLED = "CANCELLED"


#: The happy path, in order.
STEP_ORDER: tuple[RefundStep, ...] = (RefundStep.APPLIED, RefundStep.INSPECTED, RefundStep.SETTLED,
                                      RefundStep.APPROVED, RefundStep.PAID, RefundStep.COMPLETED)
FINAL_STEPS = frozenset({RefundStep.COMPLETED, RefundStep.CANCELLED})
OPEN_STEPS = frozenset(STEP_ORDER) - FINAL_STEPS


def next_step(step: RefundStep | str) -> RefundStep | None:
    step = RefundStep(step)
    if step in FINAL_STEPS:
        return None
    return STEP_ORDER[STEP_ORDER.index(step) + 1]


def previous_step(step: RefundStep | str) -> RefundStep | None:
    step = RefundStep(step)
    if step in FINAL_STEPS or step == RefundStep.APPLIED:
        return None
    return STEP_ORDER[STEP_ORDER.index(step) - 1]


#: Who may take a step (move the refund INTO it) and which building duty owns the wait before it.
STEP_ROLE: dict[RefundStep, Role] = {
    RefundStep.APPLIED: Role.TENANT,
    RefundStep.INSPECTED: Role.INSPECTOR,
    RefundStep.SETTLED: Role.FINANCE,
    RefundStep.APPROVED: Role.MANAGER,
    RefundStep.PAID: Role.FINANCE,
    RefundStep.COMPLETED: Role.TENANT,
}
STEP_DUTY: dict[RefundStep, StaffDuty] = {
    RefundStep.INSPECTED: StaffDuty.INSPECTOR,
    RefundStep.SETTLED: StaffDuty.FINANCE,
    RefundStep.APPROVED: StaffDuty.MANAGER,
    RefundStep.PAID: StaffDuty.FINANCE,
}
#: Steps whose wait is owned by staff (escalated when it sits too long). PAID waits for the tenant.
STAFF_WAIT_STEPS = frozenset({RefundStep.APPLIED, RefundStep.INSPECTED, RefundStep.SETTLED, RefundStep.APPROVED})

#: Chinese labels for the tenant's view and WeChat ``phrase`` fields (≤ 5 Chinese characters).
STEP_PHRASE: dict[RefundStep, str] = {
    RefundStep.APPLIED: "已申请", RefundStep.INSPECTED: "已查验", RefundStep.SETTLED: "已核算",
    RefundStep.APPROVED: "已审批", RefundStep.PAID: "已打款", RefundStep.COMPLETED: "已完成",
    RefundStep.CANCELLED: "已取消",
}
STEP_LABEL: dict[RefundStep, str] = {
    RefundStep.APPLIED: "退租申请已提交,等待现场查验", RefundStep.INSPECTED: "现场查验完成,等待费用核算",
    RefundStep.SETTLED: "费用核算完成,等待审批", RefundStep.APPROVED: "审批通过,等待打款",
    RefundStep.PAID: "款项已发放,请确认到账", RefundStep.COMPLETED: "押金退还已完成",
    RefundStep.CANCELLED: "退租申请已取消",
}
STEP_TASK: dict[RefundStep, str] = {
    RefundStep.INSPECTED: "押金退还:请现场查验", RefundStep.SETTLED: "押金退还:请费用核算",
    RefundStep.APPROVED: "押金退还:请审批确认", RefundStep.PAID: "押金退还:请安排打款",
}


class RefundAction(StrEnum):
    APPLY = "APPLY"
    ADVANCE = "ADVANCE"
    RETURN = "RETURN"  # return for correction: back one step, with a reason
    CANCEL = "CANCEL"
    ESCALATE = "ESCALATE"
    AUTO_COMPLETE = "AUTO_COMPLETE"


class DeductionCategory(StrEnum):
    CLEANING = "CLEANING"
    DAMAGE = "DAMAGE"
    UNPAID_RENT = "UNPAID_RENT"
    UTILITIES = "UTILITIES"
    KEYS = "KEYS"
    OTHER = "OTHER"


class DocumentKind(StrEnum):
    QUOTE = "QUOTE"  # evidence for a deduction (报价单 / 账单)
    BANK_RECEIPT = "BANK_RECEIPT"  # the PAID deliverable (银行回单)
    OTHER = "OTHER"


class CompletedBy(StrEnum):
    TENANT = "TENANT"
    AUTO = "AUTO"


#: Steps during which deductions may still be added or removed (the settlement freezes them).
DEDUCTION_EDIT_STEPS = frozenset({RefundStep.APPLIED, RefundStep.INSPECTED})
#: Steps a refund may be cancelled from.
CANCELLABLE_STEPS = frozenset({RefundStep.APPLIED, RefundStep.INSPECTED, RefundStep.SETTLED, RefundStep.APPROVED})
