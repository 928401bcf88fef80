"""Occupancy constants in one place: exclusion flags, figure codes, snapshot day states, source checks and the
audit's difference kinds with the process step each points to."""

from __future__ import annotations

from enum import StrEnum

from portfolio.choices import UnitStatus


class FlagKind(StrEnum):
    """Explicit, dated flags on a unit (or on one of its leases). Never inferred from free text."""

    TRIAL_STAY = "TRIAL_STAY"  # 试住: excluded from numerator and denominator
    INTERNAL_USE = "INTERNAL_USE"  # 内部占用: excluded
    PARTNERSHIP_SWAP = "PARTNERSHIP_SWAP"  # 合作置换: excluded
    NON_COMPLIANT = "NON_COMPLIANT"  # 不合规 (no fire acceptance, illegal partition …): not rentable, excluded
    SHORT_STAY = "SHORT_STAY"  # 短租: a lease counted only by the "including short stays" figure


#: The flags that take a unit out of every figure (numerator and denominator) for the days they cover.
EXCLUSION_FLAGS = frozenset({FlagKind.TRIAL_STAY, FlagKind.INTERNAL_USE, FlagKind.PARTNERSHIP_SWAP,
                             FlagKind.NON_COMPLIANT})

FLAG_LABEL: dict[str, str] = {
    FlagKind.TRIAL_STAY: "试住", FlagKind.INTERNAL_USE: "内部占用", FlagKind.PARTNERSHIP_SWAP: "合作置换",
    FlagKind.NON_COMPLIANT: "不合规", FlagKind.SHORT_STAY: "短租",
}

#: Recorded statuses that are themselves an exclusion (the status history is dated, like the flags).
STATUS_EXCLUSION: dict[UnitStatus, FlagKind] = {
    UnitStatus.TRIAL_STAY: FlagKind.TRIAL_STAY,
    UnitStatus.INTERNAL_USE: FlagKind.INTERNAL_USE,
}
#: A unit taken off the market (下架) is not rentable on those days: counted like a non-compliant unit.
NOT_RENTABLE_STATUSES = frozenset({UnitStatus.OFF_MARKET})


class Figure(StrEnum):
    EFFECTIVE = "EFFECTIVE"  # 有效入住率: the definition
    SIGNED = "SIGNED"  # 签约口径: every signed lease in force, first rent paid or not
    AREA = "AREA"  # 面积口径: the effective rule weighted by ㎡
    WITH_SHORT_STAYS = "WITH_SHORT_STAYS"  # 含短租: the effective rule, short stays counted too
    PHYSICAL = "PHYSICAL"  # 物理入住率: sensor inference (OCCUPIED_LIKE unit-days) over units with an inference


FIGURE_LABEL: dict[str, str] = {
    Figure.EFFECTIVE: "有效入住率", Figure.SIGNED: "签约入住率(按间,含未付首期)", Figure.AREA: "面积入住率(㎡)",
    Figure.WITH_SHORT_STAYS: "含短租入住率", Figure.PHYSICAL: "物理入住率(传感器推断)",
}

#: What each alternative changes against the definition: one rule each, so every difference has one cause.
FIGURE_DIFFERS_BY: dict[str, str] = {
    Figure.EFFECTIVE: "the definition: signed lease in force AND first rent paid, short stays and excluded units "
                      "not counted, ÷ compliant rentable units",
    Figure.SIGNED: "counts signed leases in force whose first rent is not paid yet",
    Figure.AREA: "weights each unit by its area (㎡) instead of counting it once",
    Figure.WITH_SHORT_STAYS: "counts short stays (短租) whose first rent is paid",
    Figure.PHYSICAL: "counts units the sensors infer as lived in (OCCUPIED_LIKE), over units with an inference",
}


class DayState(StrEnum):
    COMPLETE = "COMPLETE"
    INCOMPLETE = "INCOMPLETE"  # a source was stale or failed: no unit rows for the day, the reason kept


class Source(StrEnum):
    LEDGER_PAYMENTS = "LEDGER_PAYMENTS"  # the payment feed (first rent paid comes from it)
    LEDGER_JOBS = "LEDGER_JOBS"  # the ledger's periodic runs (reconciliation …) named in settings
    IOT_INGEST = "IOT_INGEST"  # device messages arriving
    IOT_DETECTION = "IOT_DETECTION"  # the day's occupancy inference was run
    INSPECTIONS = "INSPECTIONS"  # field reports arriving


class Difference(StrEnum):
    """Kinds of the status-consistency audit (资产状态一致性审计)."""

    OCCUPIED_WITHOUT_LEASE = "OCCUPIED_WITHOUT_LEASE"
    VACANT_BUT_RENT_PAID = "VACANT_BUT_RENT_PAID"
    VACANT_BUT_OCCUPIED_LIKE = "VACANT_BUT_OCCUPIED_LIKE"
    INSPECTION_CONTRADICTS = "INSPECTION_CONTRADICTS"
    PENDING_DELIVERY_TOO_LONG = "PENDING_DELIVERY_TOO_LONG"


DIFFERENCE_LABEL: dict[str, str] = {
    Difference.OCCUPIED_WITHOUT_LEASE: "已出租但无有效租约",
    Difference.VACANT_BUT_RENT_PAID: "空置但已付首期租金",
    Difference.VACANT_BUT_OCCUPIED_LIKE: "空置但传感器推断有人",
    Difference.INSPECTION_CONTRADICTS: "巡检结果与状态不符且未处理",
    Difference.PENDING_DELIVERY_TOO_LONG: "待交付超期",
}
#: The process step each kind points to (where the gap is) and what to do about one unit.
DIFFERENCE_PROCESS: dict[str, str] = {
    Difference.OCCUPIED_WITHOUT_LEASE: "退租未登记 (move-out not recorded) or lease not entered",
    Difference.VACANT_BUT_RENT_PAID: "交付未关闭 (handover / delivery not recorded)",
    Difference.VACANT_BUT_OCCUPIED_LIKE: "入住未登记或非法占用 (move-in not recorded, or unauthorised use)",
    Difference.INSPECTION_CONTRADICTS: "巡检复核未处理 (inspection confirmation left open)",
    Difference.PENDING_DELIVERY_TOO_LONG: "交付未关闭 (delivery not closed)",
}
DIFFERENCE_ACTION: dict[str, str] = {
    Difference.OCCUPIED_WITHOUT_LEASE: "核实是否已退租:登记退租并改为待退租/空置,或补录租约",
    Difference.VACANT_BUT_RENT_PAID: "核实交付:完成交付登记(状态改为已出租),或退还首期租金",
    Difference.VACANT_BUT_OCCUPIED_LIKE: "现场核查:补录租约/交付,或按非法占用处理",
    Difference.INSPECTION_CONTRADICTS: "经理现场复核并确认或驳回巡检报告",
    Difference.PENDING_DELIVERY_TOO_LONG: "联系租户完成交付,或撤销签约并恢复空置",
}
