"""Ledger rules (pure, table-tested): a receivable's state on a date, payment allocation oldest-first, and the
regeneration plan an amendment applies (which rows are kept, rewritten, replaced or added)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from leasing.choices import ReceivableState, ReceivableStatus
from leasing.schedule import Line

R = ReceivableState


def receivable_state(*, status: str, amount_fen: int, paid_fen: int, due_date: date, as_of: date,
                     notice_days: int) -> ReceivableState:
    """UPCOMING until ``notice_days`` before the due date, then DUE (or PARTIALLY_PAID), OVERDUE after the due
    date while anything is unpaid; PAID / WAIVED / SUPERSEDED as stored."""
    if status == ReceivableStatus.WAIVED:
        return R.WAIVED
    if status == ReceivableStatus.SUPERSEDED:
        return R.SUPERSEDED
    if paid_fen >= amount_fen:
        return R.PAID
    if as_of > due_date:
        return R.OVERDUE
    if paid_fen > 0:
        return R.PARTIALLY_PAID
    if as_of >= due_date - timedelta(days=notice_days):
        return R.DUE
    return R.UPCOMING


def stored_status(amount_fen: int, paid_fen: int) -> ReceivableStatus:
    if paid_fen >= amount_fen:
        return ReceivableStatus.PAID
    return ReceivableStatus.PARTIAL if paid_fen > 0 else ReceivableStatus.OPEN


@dataclass(frozen=True)
class OpenItem:
    id: int
    due_date: date
    outstanding_fen: int
    priority: int = 1  # the deposit (0) before rent (1) before other charges (2) on the same due date


def allocate(amount_fen: int, items: Iterable[OpenItem]) -> tuple[list[tuple[int, int]], int]:
    """Spread a payment over open items oldest first (due date, priority, id). Returns ([(item id, fen)], the
    remainder kept as credit). Never allocates more than an item's outstanding amount or the payment."""
    if amount_fen < 0:
        raise ValueError("a payment is never negative")
    left = amount_fen
    out = []
    for item in sorted(items, key=lambda i: (i.due_date, i.priority, i.id)):
        if left == 0:
            break
        take = min(left, item.outstanding_fen)
        if take > 0:
            out.append((item.id, take))
            left -= take
    return out, left


@dataclass(frozen=True)
class StoredRow:
    id: int
    charge: str
    period_start: date
    period_end: date
    due_date: date
    amount_fen: int
    paid_fen: int
    status: str
    adjusted_fen: int = 0  # net of the adjustments and credit notes already raised for this row

    @property
    def key(self) -> tuple[str, date]:
        return self.charge, self.period_start

    @property
    def locked(self) -> bool:
        """Rows with money allocated (or waived) are never rewritten."""
        return self.paid_fen > 0 or self.status in (ReceivableStatus.PAID, ReceivableStatus.WAIVED)


@dataclass
class Plan:
    create: list[Line] = field(default_factory=list)
    update: list[tuple[StoredRow, Line]] = field(default_factory=list)
    supersede: list[StoredRow] = field(default_factory=list)
    kept: list[StoredRow] = field(default_factory=list)
    #: (kept row, difference): a positive difference becomes an ADJUSTMENT receivable, a negative one credit
    adjust: list[tuple[StoredRow, int]] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return bool(self.create or self.update or self.supersede or self.adjust)

    def summary(self) -> dict[str, int]:
        return {"created": len(self.create), "updated": len(self.update), "superseded": len(self.supersede),
                "kept_paid": len(self.kept), "adjusted": len(self.adjust)}


def plan_regeneration(stored: Sequence[StoredRow], lines: Sequence[Line]) -> Plan:
    """Compare the active stored rows with freshly generated lines, by key (charge, period start).

    Unlocked rows are rewritten or superseded; locked (paid, partly paid, waived) rows stay exactly as they
    are, and a difference in what they should now be is settled by an adjustment instead."""
    plan = Plan()
    wanted = {line.key: line for line in lines}
    for row in stored:
        line = wanted.pop(row.key, None)
        if row.locked:
            plan.kept.append(row)
            new_amount = line.amount_fen if line is not None else 0
            if row.status != ReceivableStatus.WAIVED and new_amount != row.amount_fen + row.adjusted_fen:
                plan.adjust.append((row, new_amount - row.amount_fen - row.adjusted_fen))
            continue
        if line is None:
            plan.supersede.append(row)
        elif (line.amount_fen, line.due_date, line.period_end) != (row.amount_fen, row.due_date, row.period_end):
            plan.update.append((row, line))
    plan.create = sorted(wanted.values(), key=lambda line: (line.due_date, line.charge))
    return plan
