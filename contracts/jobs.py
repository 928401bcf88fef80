"""Scheduled contract work, ``async def job(settings, now) -> dict``, idempotent: documents whose reading never
began (the server stopped between upload and reading) or stopped half-way (the process died while READING) are
read again. A document is claimed by a conditional update, so two runs never read the same one twice."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from config.settings import Settings
from contracts.choices import DocumentStatus
from contracts.pool import OcrPool
from contracts.service import read_document
from inspections.storage import storage_for
from models.contracts import ContractDocument

#: An upload's own reading starts at once; one still RECEIVED after this was left behind.
RECEIVED_GRACE = timedelta(minutes=5)
#: Longer than any document takes (60 pages × the page limit is the worst case, far above the usual minutes).
READING_STALE = timedelta(hours=3)
PER_PASS = 5


async def resume_contract_reading(settings: Settings, now: datetime) -> dict[str, Any]:
    stale = await ContractDocument.filter(status=DocumentStatus.READING,
                                          updated_at__lt=now - READING_STALE).update(status=DocumentStatus.RECEIVED)
    ids = [d.id for d in await ContractDocument.filter(status=DocumentStatus.RECEIVED,
                                                       created_at__lt=now - RECEIVED_GRACE)
           .order_by("id").limit(PER_PASS)]
    if not ids:
        return {"contracts_resumed": 0, "contracts_stale_reset": stale}
    pool = OcrPool.from_settings(settings)
    storage = storage_for(settings)
    try:
        statuses = [(await read_document(doc_id, pool=pool, settings=settings, storage=storage)).status
                    for doc_id in ids]
    finally:
        pool.close()
    return {"contracts_resumed": len(ids), "contracts_stale_reset": stale,
            "contracts_failed": sum(1 for s in statuses if s == DocumentStatus.FAILED)}
