"""Contract intake: the uploaded document (original bytes by hash in the photo storage, its pages read) and the
draft lease extracted from it, which a person reviews before the ledger creates the real lease."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields

from contracts.choices import DocumentKind, DocumentStatus, DraftStatus
from models.base import TimestampedModel

if TYPE_CHECKING:
    from models.accounts import User
    from models.leasing import Lease
    from models.portfolio import Building, Unit


class ContractDocument(TimestampedModel):
    """One contract as uploaded: a PDF or the photos of its pages. ``sha256`` is the hash of the file (of the
    photos' hashes in order, for a set of photos): uploading the same again returns this row."""

    id = fields.IntField(primary_key=True)
    sha256 = fields.CharField(max_length=64, unique=True)
    kind = fields.CharEnumField(DocumentKind, max_length=8)
    status = fields.CharEnumField(DocumentStatus, max_length=10, default=DocumentStatus.RECEIVED)
    building: fields.ForeignKeyNullableRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="contract_documents", null=True,
                                      on_delete=fields.RESTRICT)
    building_id: int | None
    uploaded_by: fields.ForeignKeyNullableRelation[User]
    uploaded_by = fields.ForeignKeyField("models.User", related_name="contract_documents", null=True,
                                         on_delete=fields.SET_NULL)
    uploaded_by_id: int | None
    filename = fields.CharField(max_length=200, default="")
    originals: fields.JSONField[list[dict[str, Any]]]
    originals = fields.JSONField(default=list, description="[{key, sha256, content_type, size_bytes, filename}]")
    page_count = fields.IntField(default=0)
    pages: fields.JSONField[list[dict[str, Any]]]
    pages = fields.JSONField(default=list, description="per page: source, width, height, rotation, skew, "
                                                       "image_key, lines [{text, score, box}], problem")
    error_code = fields.CharField(max_length=40, default="")
    error_message = fields.CharField(max_length=300, default="")
    read_seconds = fields.FloatField(null=True)

    class Meta:
        table = "contract_documents"


class ContractDraft(TimestampedModel):
    """The lease a document states, field by field (value, confidence, source span, page and box, flags, and
    whether a person confirmed or corrected it), the units it may be for, and the lease once created."""

    id = fields.IntField(primary_key=True)
    document: fields.OneToOneRelation[ContractDocument]
    document = fields.OneToOneField("models.ContractDocument", related_name="draft", on_delete=fields.CASCADE)
    document_id: int
    status = fields.CharEnumField(DraftStatus, max_length=8, default=DraftStatus.REVIEW)
    version = fields.IntField(default=1, description="optimistic lock: every saved review (and the lease) bumps it")
    extracted: fields.JSONField[dict[str, Any]]
    extracted = fields.JSONField(default=dict, description="field name → field under review (contracts.review)")
    unit_candidates: fields.JSONField[list[dict[str, Any]]]
    unit_candidates = fields.JSONField(default=list, description="proposed units, best first (never chosen here)")
    unit: fields.ForeignKeyNullableRelation[Unit]
    unit = fields.ForeignKeyField("models.Unit", related_name="contract_drafts", null=True, on_delete=fields.RESTRICT)
    unit_id: int | None
    lease: fields.ForeignKeyNullableRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="contract_drafts", null=True,
                                   on_delete=fields.RESTRICT)
    lease_id: int | None
    created_by: fields.ForeignKeyNullableRelation[User]
    created_by = fields.ForeignKeyField("models.User", related_name="contract_drafts_created", null=True,
                                        on_delete=fields.SET_NULL)
    created_by_id: int | None

    class Meta:
        table = "contract_drafts"
