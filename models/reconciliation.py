from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tortoise import fields

from models.base import TimestampedModel
from reconciliation.choices import (
    Direction,
    DiscrepancyKind,
    DiscrepancyStatus,
    ImportStatus,
    LineStatus,
    MatchRule,
    MatchStatus,
    StatementSource,
)

if TYPE_CHECKING:
    from models.accounts import User
    from models.leasing import Lease, Payment, Receivable
    from models.portfolio import Building

class StatementImport(TimestampedModel):
    """One uploaded statement file: read whole (APPLIED) or refused whole (REFUSED, with why)."""

    id = fields.IntField(primary_key=True)
    format_name = fields.CharField(max_length=40, default="")
    format_version = fields.IntField(default=0)
    source = fields.CharEnumField(StatementSource, max_length=12, null=True)
    filename = fields.CharField(max_length=200, default="")
    sha256 = fields.CharField(max_length=64)
    building: fields.ForeignKeyNullableRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="statement_imports", null=True,
                                      on_delete=fields.RESTRICT)
    building_id: int | None
    status = fields.CharEnumField(ImportStatus, max_length=10)
    imported_by: fields.ForeignKeyNullableRelation[User]
    imported_by = fields.ForeignKeyField("models.User", related_name="statement_imports", null=True,
                                         on_delete=fields.SET_NULL)
    imported_by_id: int | None
    imported_at = fields.DatetimeField()
    lines_read = fields.IntField(default=0)
    lines_new = fields.IntField(default=0)
    lines_duplicate = fields.IntField(default=0)
    error_code = fields.CharField(max_length=40, default="")
    error_details: fields.JSONField[dict[str, Any]]
    error_details = fields.JSONField(default=dict)
    summary: fields.JSONField[dict[str, Any]]
    summary = fields.JSONField(default=dict)

    class Meta:
        table = "statement_imports"
        indexes = (("building_id", "imported_at"),)


class StatementFeed(TimestampedModel):
    """The last good import of a feed (a building's statements, or the portfolio's): dashboards show that data,
    marked stale while a later import was refused."""

    id = fields.IntField(primary_key=True)
    key = fields.CharField(max_length=40, unique=True, description="building:<id> or portfolio")
    building: fields.ForeignKeyNullableRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="statement_feeds", null=True,
                                      on_delete=fields.RESTRICT)
    building_id: int | None
    last_good_import: fields.ForeignKeyNullableRelation[StatementImport]
    last_good_import = fields.ForeignKeyField("models.StatementImport", related_name="good_for", null=True,
                                              on_delete=fields.SET_NULL)
    last_good_import_id: int | None
    last_good_at = fields.DatetimeField(null=True)
    last_failed_import: fields.ForeignKeyNullableRelation[StatementImport]
    last_failed_import = fields.ForeignKeyField("models.StatementImport", related_name="failed_for", null=True,
                                                on_delete=fields.SET_NULL)
    last_failed_import_id: int | None
    last_failed_at = fields.DatetimeField(null=True)
    last_error_code = fields.CharField(max_length=40, default="")

    class Meta:
        table = "statement_feeds"


class StatementLine(TimestampedModel):
    """One bank (or WeChat Pay / Alipay) line, stored once: ``dedupe_key`` is the serial, or date + amount +
    counterparty + balance when the bank gives none, so an overlapping export adds nothing."""

    id = fields.BigIntField(primary_key=True)
    statement_import: fields.ForeignKeyRelation[StatementImport]
    statement_import = fields.ForeignKeyField("models.StatementImport", related_name="lines",
                                              on_delete=fields.RESTRICT)
    statement_import_id: int
    building: fields.ForeignKeyNullableRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="statement_lines", null=True,
                                      on_delete=fields.RESTRICT)
    building_id: int | None
    source = fields.CharEnumField(StatementSource, max_length=12)
    format_name = fields.CharField(max_length=40)
    dedupe_key = fields.CharField(max_length=200, unique=True)
    serial = fields.CharField(max_length=80, default="")
    row_number = fields.IntField()
    booked_at = fields.DatetimeField()
    direction = fields.CharEnumField(Direction, max_length=3)
    amount_fen = fields.BigIntField(description="always positive, the direction says which way")
    balance_fen = fields.BigIntField(null=True)
    counterparty_name = fields.CharField(max_length=120, default="")
    counterparty_account = fields.CharField(max_length=64, default="")
    reference = fields.CharField(max_length=500, default="", description="摘要 / 附言 / 用途 / 商户订单号")
    source_row: fields.JSONField[dict[str, Any]]
    source_row = fields.JSONField(default=dict, description="the row as read, header → text")
    status = fields.CharEnumField(LineStatus, max_length=10)
    allocated_fen = fields.BigIntField(default=0, description="applied to the ledger, never above amount_fen")
    explanation: fields.JSONField[dict[str, Any]]
    explanation = fields.JSONField(default=dict, description="the matcher's decision and its reasons")

    class Meta:
        table = "statement_lines"
        indexes = (("building_id", "booked_at"), ("status", "booked_at"))


class ReconciliationMatch(TimestampedModel):
    """A line's money tied to a lease (and the receivables it pays first): proposed, applied or rejected."""

    id = fields.BigIntField(primary_key=True)
    line: fields.ForeignKeyRelation[StatementLine]
    line = fields.ForeignKeyField("models.StatementLine", related_name="matches", on_delete=fields.RESTRICT)
    line_id: int
    lease: fields.ForeignKeyRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="reconciliation_matches", on_delete=fields.RESTRICT)
    lease_id: int
    receivable: fields.ForeignKeyNullableRelation[Receivable]
    receivable = fields.ForeignKeyField("models.Receivable", related_name="reconciliation_matches", null=True,
                                        on_delete=fields.RESTRICT)
    receivable_id: int | None
    building: fields.ForeignKeyRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="reconciliation_matches",
                                      on_delete=fields.RESTRICT)
    building_id: int
    amount_fen = fields.BigIntField()
    rule = fields.CharEnumField(MatchRule, max_length=20)
    confidence = fields.IntField()
    status = fields.CharEnumField(MatchStatus, max_length=10)
    explanation = fields.CharField(max_length=1000)
    details: fields.JSONField[dict[str, Any]]
    details = fields.JSONField(default=dict)
    payment: fields.ForeignKeyNullableRelation[Payment]
    payment = fields.ForeignKeyField("models.Payment", related_name="reconciliation_matches", null=True,
                                     on_delete=fields.RESTRICT)
    payment_id: int | None
    decided_by: fields.ForeignKeyNullableRelation[User]
    decided_by = fields.ForeignKeyField("models.User", related_name="reconciliation_decisions", null=True,
                                        on_delete=fields.SET_NULL)
    decided_by_id: int | None
    decided_at = fields.DatetimeField(null=True)

    class Meta:
        table = "reconciliation_matches"
        # a line's matches are read by every decision on it (Tortoise does not index foreign keys)
        indexes = (("status", "building_id"), ("line_id", "status"))


class Discrepancy(TimestampedModel):
    """One item of the discrepancy list: it stays until a person confirms, reassigns or dismisses it."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(DiscrepancyKind, max_length=24)
    key = fields.CharField(max_length=120, unique=True, description="kind:subject — found once, however often")
    building: fields.ForeignKeyNullableRelation[Building]
    building = fields.ForeignKeyField("models.Building", related_name="discrepancies", null=True,
                                      on_delete=fields.RESTRICT)
    building_id: int | None
    line: fields.ForeignKeyNullableRelation[StatementLine]
    line = fields.ForeignKeyField("models.StatementLine", related_name="discrepancies", null=True,
                                  on_delete=fields.RESTRICT)
    line_id: int | None
    receivable: fields.ForeignKeyNullableRelation[Receivable]
    receivable = fields.ForeignKeyField("models.Receivable", related_name="discrepancies", null=True,
                                        on_delete=fields.RESTRICT)
    receivable_id: int | None
    payment: fields.ForeignKeyNullableRelation[Payment]
    payment = fields.ForeignKeyField("models.Payment", related_name="discrepancies", null=True,
                                     on_delete=fields.RESTRICT)
    payment_id: int | None
    lease: fields.ForeignKeyNullableRelation[Lease]
    lease = fields.ForeignKeyField("models.Lease", related_name="discrepancies", null=True, on_delete=fields.RESTRICT)
    lease_id: int | None
    amount_fen = fields.BigIntField(default=0)
    expected_fen = fields.BigIntField(null=True)
    explanation = fields.CharField(max_length=1000)
    details: fields.JSONField[dict[str, Any]]
    details = fields.JSONField(default=dict)
    status = fields.CharEnumField(DiscrepancyStatus, max_length=10, default=DiscrepancyStatus.OPEN)
    detected_at = fields.DatetimeField()
    resolved_by: fields.ForeignKeyNullableRelation[User]
    resolved_by = fields.ForeignKeyField("models.User", related_name="resolved_discrepancies", null=True,
                                         on_delete=fields.SET_NULL)
    resolved_by_id: int | None
    resolved_at = fields.DatetimeField(null=True)
    resolution_note = fields.CharField(max_length=500, default="")

    class Meta:
        table = "reconciliation_discrepancies"
        indexes = (("status", "building_id"), ("kind", "status"))
