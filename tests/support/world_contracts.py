"""Each side's building has a read contract document (one OCR'd page, no files stored) and its draft lease."""

from contracts.choices import DocumentKind, DocumentStatus
from models.contracts import ContractDocument, ContractDraft


async def extend_world(world, side, now) -> None:
    doc = await ContractDocument.create(
        sha256=f"{side.label}" * 64, kind=DocumentKind.PHOTOS, status=DocumentStatus.REVIEW,
        building_id=side.building.id, page_count=1,
        pages=[{"index": 1, "source": "OCR", "width": 100, "height": 100, "rotation": 0, "skew": 0.0,
                "image_key": f"contracts/pages/world-{side.label}/1.png", "lines": [], "problem": ""}])
    side.extra["contract_document"] = doc
    side.extra["contract_draft"] = await ContractDraft.create(document_id=doc.id, extracted={})
