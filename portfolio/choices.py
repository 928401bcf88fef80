"""Unit statuses and the allowed transitions, defined once, as data."""

from enum import StrEnum


class UnitStatus(StrEnum):
    VACANT = "VACANT"  # 空置
    RESERVED = "RESERVED"  # 意向锁定
    PENDING_DELIVERY = "PENDING_DELIVERY"  # 待交付
    OCCUPIED = "OCCUPIED"  # 已出租
    MOVE_OUT_PENDING = "MOVE_OUT_PENDING"  # 待退租
    UNDER_REPAIR = "UNDER_REPAIR"  # 维修中
    RENOVATION = "RENOVATION"  # 翻新
    INTERNAL_USE = "INTERNAL_USE"  # 自用
    TRIAL_STAY = "TRIAL_STAY"  # 试住
    OFF_MARKET = "OFF_MARKET"  # 下架


class PropertyType(StrEnum):
    RESIDENTIAL = "RESIDENTIAL"
    SHOP = "SHOP"
    WAREHOUSE = "WAREHOUSE"
    OFFICE = "OFFICE"


#: The status machine's labels as people read them (console, exports).
UNIT_STATUS_LABEL: dict[UnitStatus, str] = {
    UnitStatus.VACANT: "空置", UnitStatus.RESERVED: "意向锁定", UnitStatus.PENDING_DELIVERY: "待交付",
    UnitStatus.OCCUPIED: "已出租", UnitStatus.MOVE_OUT_PENDING: "待退租", UnitStatus.UNDER_REPAIR: "维修中",
    UnitStatus.RENOVATION: "翻新", UnitStatus.INTERNAL_USE: "自用", UnitStatus.TRIAL_STAY: "试住",
    UnitStatus.OFF_MARKET: "下架",
}
PROPERTY_TYPE_LABEL: dict[PropertyType, str] = {
    PropertyType.RESIDENTIAL: "住宅", PropertyType.SHOP: "商铺", PropertyType.WAREHOUSE: "仓库",
    PropertyType.OFFICE: "写字楼",
}


class StatusSource(StrEnum):
    INSPECTION = "inspection"
    LEASE = "lease"
    SENSOR = "sensor"
    ADMIN = "admin"
    REFUND = "refund"
    WORK_ORDER = "work_order"


S = UnitStatus
UNIT_TRANSITIONS: dict[UnitStatus, frozenset[UnitStatus]] = {
    S.VACANT: frozenset({S.RESERVED, S.PENDING_DELIVERY, S.UNDER_REPAIR, S.RENOVATION, S.INTERNAL_USE,
                         S.TRIAL_STAY, S.OFF_MARKET}),
    S.RESERVED: frozenset({S.VACANT, S.PENDING_DELIVERY, S.OFF_MARKET}),
    S.PENDING_DELIVERY: frozenset({S.OCCUPIED, S.VACANT, S.UNDER_REPAIR}),
    S.OCCUPIED: frozenset({S.MOVE_OUT_PENDING, S.UNDER_REPAIR}),
    S.MOVE_OUT_PENDING: frozenset({S.VACANT, S.OCCUPIED, S.UNDER_REPAIR, S.RENOVATION, S.PENDING_DELIVERY}),
    S.UNDER_REPAIR: frozenset({S.VACANT, S.OCCUPIED, S.RENOVATION, S.OFF_MARKET}),
    S.RENOVATION: frozenset({S.VACANT, S.UNDER_REPAIR, S.OFF_MARKET}),
    S.INTERNAL_USE: frozenset({S.VACANT, S.OFF_MARKET}),
    S.TRIAL_STAY: frozenset({S.OCCUPIED, S.PENDING_DELIVERY, S.VACANT}),
    S.OFF_MARKET: frozenset({S.VACANT, S.UNDER_REPAIR, S.RENOVATION}),
}
del S


def allowed_unit_targets(current: UnitStatus | str) -> frozenset[UnitStatus]:
    return UNIT_TRANSITIONS[UnitStatus(current)]


def is_allowed_unit_transition(current: UnitStatus | str, target: UnitStatus | str) -> bool:
    return UnitStatus(target) in UNIT_TRANSITIONS[UnitStatus(current)]
