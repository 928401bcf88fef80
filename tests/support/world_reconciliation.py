"""Each side's building has a statement import with lines: two with a proposal on the side's first rent
receivable (to confirm, to reject), one applied (to reverse) and three unmatched ones, each an open
discrepancy (confirm, dismiss, reassign)."""

from models.reconciliation import Discrepancy, ReconciliationMatch, StatementImport, StatementLine
from reconciliation.choices import DiscrepancyKind, ImportStatus, LineStatus, MatchRule, MatchStatus


async def extend_world(world, side, now) -> None:
    building = side.building.id
    record = await StatementImport.create(format_name="cn_bank", format_version=1, source="BANK", sha256="0" * 64,
                                          building_id=building, status=ImportStatus.APPLIED, imported_at=now)
    receivable = side.extra["receivable"]

    async def line(n: int, status: LineStatus) -> StatementLine:
        return await StatementLine.create(
            statement_import_id=record.id, building_id=building, source="BANK", format_name="cn_bank@1",
            dedupe_key=f"world:{side.label}:{n}", serial=f"W{side.label}{n}", row_number=n, booked_at=now,
            direction="IN", amount_fen=receivable.amount_fen, counterparty_name=f"付款人{n}", status=status)

    for name in ("line_to_confirm", "line_to_reject"):
        proposed = await line(len(side.extra), LineStatus.PROPOSED)
        await ReconciliationMatch.create(line_id=proposed.id, lease_id=side.lease.id, building_id=building,
                                         receivable_id=receivable.id, amount_fen=receivable.amount_fen,
                                         rule=MatchRule.PAYER_AMOUNT, confidence=80, status=MatchStatus.PROPOSED,
                                         explanation="world: proposed")
        side.extra[name] = proposed
    applied = await line(len(side.extra) + 5, LineStatus.MATCHED)
    await ReconciliationMatch.create(line_id=applied.id, lease_id=side.lease.id, building_id=building,
                                     receivable_id=receivable.id, amount_fen=receivable.amount_fen,
                                     rule=MatchRule.MANUAL, confidence=100, status=MatchStatus.APPLIED,
                                     explanation="world: applied")
    side.extra["line_to_reverse"] = applied
    for name in ("discrepancy_to_confirm", "discrepancy_to_dismiss", "discrepancy_to_reassign"):
        unmatched = await line(len(side.extra) + 10, LineStatus.UNMATCHED)
        side.extra[name] = await Discrepancy.create(
            kind=DiscrepancyKind.UNMATCHED_INCOME, key=f"UNMATCHED_INCOME:line:{unmatched.id}", building_id=building,
            line_id=unmatched.id, amount_fen=unmatched.amount_fen, explanation="world: unmatched", detected_at=now)
