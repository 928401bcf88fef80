"""A deposit refund (APPLIED) per building, with one evidenced deduction, for the scope test.

The world's leased unit is still PENDING_DELIVERY, so the refund is opened without the unit status change; its
notifications are removed again so other domains' tests start with an empty outbox."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from config.settings import DEV_QR_SECRET
from models.leasing import Lease
from models.notifications import OutboxMessage
from models.refunds import RefundDeduction, RefundDocument
from refunds.choices import DeductionCategory, DocumentKind
from refunds.progress import issue_progress_token
from refunds.service import RefundConfig, apply_refund

CFG = RefundConfig(sla_hours={"INSPECTED": 24, "SETTLED": 48, "APPROVED": 24}, paid_business_days=1,
                   auto_complete_days=7, escalation_hours=48, tz=ZoneInfo("Asia/Shanghai"))


async def extend_world(world, side, now) -> None:
    from tests.support.refund_helpers import pay_deposit

    await pay_deposit(side.lease, now)  # the ledger holds the deposit the refund settles
    lease = await Lease.get(id=side.lease.id)
    refund = await apply_refund(lease=lease, applicant=side.tenant_user, now=now, cfg=CFG, payee_name=side.label,
                                payee_bank="招商银行", payee_account="6225880012345678", change_unit=False)
    await OutboxMessage.filter(dedupe_key__startswith=f"refund:{refund.id}:").delete()
    quote = await RefundDocument.create(refund=refund, kind=DocumentKind.QUOTE, filename="quote.pdf",
                                        content_type="application/pdf", size_bytes=1, sha256="0" * 64,
                                        storage_key="none")
    side.extra["refund"] = refund
    side.extra["refund_document"] = quote  # no file behind it: its download answers 410 DOCUMENT_FILE_MISSING
    side.extra["refund_deduction"] = await RefundDeduction.create(
        refund=refund, category=DeductionCategory.CLEANING, amount_fen=20000, description="保洁", document=quote)
    side.extra["refund_progress_token"], _ = issue_progress_token(
        secret=DEV_QR_SECRET, refund_id=refund.id, nonce=refund.progress_nonce, now=now, ttl=timedelta(days=30))
