"""The staff actions on a refund, declared once: the step each one takes the refund into, who may take it
(accounts.permissions), its request body (refunds.schemas), what its deliverable must contain, and the service
function that does it. The API registers one endpoint per row (``POST /refunds/{id}/{action}``); the service
checks the deliverable and the step order again, so the table cannot let anything through that it refuses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from accounts.choices import Role
from accounts.permissions import (
    REFUND_APPROVERS,
    REFUND_CANCELLERS,
    REFUND_INSPECTORS,
    REFUND_PAYERS,
    REFUND_RETURNERS,
    REFUND_SETTLERS,
)
from models.refunds import DepositRefund
from refunds import service
from refunds.choices import RefundStep
from refunds.schemas import ApproveIn, InspectIn, PayIn, ReasonIn, SettleIn


@dataclass(frozen=True)
class StaffStep:
    action: str  # the endpoint's last path segment and the route name's suffix
    target: RefundStep | None  # the step it moves the refund into; None: an earlier step (return)
    roles: frozenset[Role]
    body: type[BaseModel]
    fields: tuple[str, ...]  # the body fields handed to ``run`` as keywords
    deliverable: str  # what the step needs (documents, records), shown as the endpoint's access note
    run: Callable[..., Awaitable[DepositRefund]]  # (refund_id, *, actor, now, cfg, **fields)

    def arguments(self, body: BaseModel) -> dict[str, Any]:
        return {name: getattr(body, name) for name in self.fields}


STAFF_STEPS: tuple[StaffStep, ...] = (
    StaffStep("inspect", RefundStep.INSPECTED, REFUND_INSPECTORS, InspectIn, ("inspection_report_id", "note"),
              "deliverable: a REFUND_INSPECTION status report of the unit, with photos", service.inspect),
    StaffStep("settle", RefundStep.SETTLED, REFUND_SETTLERS, SettleIn, ("deduction_ids", "note"),
              "deliverable: the settlement list (deduction_ids, [] for none)", service.settle),
    StaffStep("approve", RefundStep.APPROVED, REFUND_APPROVERS, ApproveIn, ("approved_amount_fen", "note"),
              "deliverable: the approval record (approved_amount_fen = settled refund)", service.approve),
    StaffStep("pay", RefundStep.PAID, REFUND_PAYERS, PayIn, ("bank_receipt_ref", "receipt_document_id"),
              "deliverable: bank receipt reference and BANK_RECEIPT document", service.pay),
    StaffStep("return", None, REFUND_RETURNERS, ReasonIn, ("reason", "to_step"),
              "return for correction (reason required): the next step's role, managers, admins",
              service.return_for_correction),
    StaffStep("cancel", RefundStep.CANCELLED, REFUND_CANCELLERS, ReasonIn, ("reason",), "reason required",
              service.cancel),
)
