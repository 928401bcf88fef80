"""``rentwatch contracts ingest FILE… [--building CODE]``: store a contract (one PDF, or the photos of its pages),
read it (text layer or OCR in the worker pool) and print its draft lease with what still needs review."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from config.settings import Settings


def register(sub: argparse._SubParsersAction) -> None:
    contracts = sub.add_parser("contracts", help="paper contracts in").add_subparsers(dest="contracts_command",
                                                                                       required=True)
    p = contracts.add_parser("ingest", help="upload one PDF, or the photos of one contract's pages, and read it")
    p.add_argument("files", type=Path, nargs="+")
    p.add_argument("--building", default=None, help="code of the building the contract is for")
    p.add_argument("--json", action="store_true", help="print the document and draft as JSON")
    p.set_defaults(func=lambda s, a: asyncio.run(ingest(s, a)))


async def ingest(settings: Settings, args: argparse.Namespace) -> int:
    from cli.core_commands import with_db
    from core.errors import AppError

    uploads = []
    for path in args.files:
        try:
            uploads.append((path.read_bytes(), path.name))
        except OSError as exc:
            print(f"error: cannot read {path}: {exc}", file=sys.stderr)
            return 2
    try:
        result = await with_db(settings, lambda: _ingest(settings, uploads, args.building))
    except AppError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 2
    doc, draft, created = result
    if args.json:
        print(json.dumps({"document": doc, "draft": draft, "created": created}, ensure_ascii=False, indent=1))
    else:
        print(f"document {doc['id']} ({doc['kind']}, {doc['page_count']} pages, {doc['status']})"
              f"{'' if created else ' — already uploaded'}")
        if draft:
            for field in draft["fields"]:
                mark = "!" if field["review"]["state"] == "PENDING" else " "
                flags = f" [{', '.join(field['flags'])}]" if field["flags"] else ""
                print(f" {mark} {field['name']:<20} {json.dumps(field['value'], ensure_ascii=False):<40} "
                      f"{field['confidence']:.2f}{flags}")
            print(f"draft {draft['id']}: {'ready' if draft['ready'] else str(len(draft['blockers'])) + ' to review'}")
    return 0 if doc["status"] != "FAILED" else 1


async def _ingest(settings: Settings, files: list[tuple[bytes, str]], building_code: str | None):
    from accounts.choices import Role
    from accounts.scope import Principal
    from contracts import service
    from contracts.intake import Upload
    from contracts.pool import OcrPool
    from core.errors import NotFound
    from inspections.storage import storage_for
    from models.contracts import ContractDraft
    from models.portfolio import Building

    building_id = None
    if building_code:
        building = await Building.get_or_none(code=building_code)
        if building is None:
            raise NotFound(f"building {building_code} not found", code="UNKNOWN_BUILDING")
        building_id = building.id
    principal = Principal(user_id=0, role=Role.ADMIN, name="cli", building_ids=None)
    storage = storage_for(settings)
    doc, created = await service.ingest(principal, [Upload(data, name) for data, name in files],
                                        building_id=building_id, settings=settings, storage=storage)
    pool = OcrPool.from_settings(settings)
    try:
        doc = await service.read_document(doc.id, pool=pool, settings=settings, storage=storage)
    finally:
        pool.close()
    draft = await ContractDraft.get_or_none(document_id=doc.id)
    return (service.serialize_document(doc, draft.id if draft else None),
            service.serialize_draft(draft) if draft else None, created)
