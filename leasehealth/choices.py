"""Lease health (租约健康度) and tenant profile constants in one place: indicators, levels, their order, the seed's
actions, renewal recommendations."""

from enum import StrEnum


class HealthLevel(StrEnum):
    GREEN = "GREEN"  # nothing over a threshold
    YELLOW = "YELLOW"  # 黄色预警
    ORANGE = "ORANGE"  # 橙色预警
    RED = "RED"  # 红色预警


#: severity order (a lease's level is its most severe finding)
LEVEL_RANK: dict[HealthLevel, int] = {HealthLevel.GREEN: 0, HealthLevel.YELLOW: 1, HealthLevel.ORANGE: 2,
                                      HealthLevel.RED: 3}
LEVEL_LABEL: dict[HealthLevel, str] = {HealthLevel.GREEN: "健康", HealthLevel.YELLOW: "黄色预警",
                                       HealthLevel.ORANGE: "橙色预警", HealthLevel.RED: "红色预警"}


class Indicator(StrEnum):
    """The seed's three observed dimensions, each with its period, level and action."""

    PAYMENT_DEVIATIONS = "PAYMENT_DEVIATIONS"  # 履约偏差: paid more than n working days after due, per quarter
    CONTRACT_CHANGES = "CONTRACT_CHANGES"  # 变更申请: lease changes per calendar year
    WORK_ORDERS = "WORK_ORDERS"  # 关联工单: the unit's repair/cleaning/inspection orders per month


class PeriodKind(StrEnum):
    QUARTER = "QUARTER"  # "2026Q4"
    YEAR = "YEAR"  # "2026"
    MONTH = "MONTH"  # "2026-10"


INDICATOR_PERIOD: dict[Indicator, PeriodKind] = {
    Indicator.PAYMENT_DEVIATIONS: PeriodKind.QUARTER,
    Indicator.CONTRACT_CHANGES: PeriodKind.YEAR,
    Indicator.WORK_ORDERS: PeriodKind.MONTH,
}
INDICATOR_LEVEL: dict[Indicator, HealthLevel] = {
    Indicator.PAYMENT_DEVIATIONS: HealthLevel.YELLOW,
    Indicator.CONTRACT_CHANGES: HealthLevel.RED,
    Indicator.WORK_ORDERS: HealthLevel.ORANGE,
}
#: the seed's 应对措施, raised as a task once per lease, indicator and period
INDICATOR_ACTION: dict[Indicator, str] = {
    Indicator.PAYMENT_DEVIATIONS: "安排专人回访,核实支付障碍",
    Indicator.CONTRACT_CHANGES: "启动客户关系复盘会议",
    Indicator.WORK_ORDERS: "派工程师现场勘查环境适配性",
}
INDICATOR_LABEL: dict[Indicator, str] = {
    Indicator.PAYMENT_DEVIATIONS: "履约偏差", Indicator.CONTRACT_CHANGES: "合同变更",
    Indicator.WORK_ORDERS: "关联工单",
}


class Recommendation(StrEnum):
    """Renewal eligibility from the tenant profile (续约资格)."""

    ELIGIBLE = "ELIGIBLE"  # 建议续约
    REVIEW = "REVIEW"  # 需复核
    NOT_RECOMMENDED = "NOT_RECOMMENDED"  # 不建议续约


RECOMMENDATION_LABEL: dict[Recommendation, str] = {
    Recommendation.ELIGIBLE: "建议续约", Recommendation.REVIEW: "需复核",
    Recommendation.NOT_RECOMMENDED: "不建议续约",
}

#: the daily job is recorded once per local day in ledger_job_runs under this name
JOB_NAME = "lease_health_daily"
#: the daily tenant profile job, recorded the same way
PROFILE_JOB_NAME = "tenant_profiles_daily"
