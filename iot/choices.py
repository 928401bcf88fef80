"""IoT constants: device kinds and payload formats, occupancy states, alert types."""

from enum import StrEnum

from portfolio.choices import UnitStatus


class DeviceKind(StrEnum):
    DOOR = "DOOR"  # 门磁
    ELECTRICITY = "ELECTRICITY"  # 电表
    WATER = "WATER"  # 水表
    PLUG = "PLUG"  # metering smart plug (counts as electricity)


METER_KINDS = frozenset({DeviceKind.ELECTRICITY, DeviceKind.WATER, DeviceKind.PLUG})


class DeviceFormat(StrEnum):
    ZIGBEE2MQTT = "ZIGBEE2MQTT"
    TASMOTA = "TASMOTA"
    SHELLY_GEN2 = "SHELLY_GEN2"
    SHELLY_GEN1 = "SHELLY_GEN1"
    WMBUS = "WMBUS"
    GENERIC = "GENERIC"


class Occupancy(StrEnum):
    OCCUPIED_LIKE = "OCCUPIED_LIKE"
    VACANT_LIKE = "VACANT_LIKE"
    UNKNOWN = "UNKNOWN"


class IotAlert(StrEnum):
    UNEXPECTED_ACTIVITY = "UNEXPECTED_ACTIVITY"
    DOOR_OPEN_WHILE_VACANT = "DOOR_OPEN_WHILE_VACANT"
    NO_ACTIVITY = "NO_ACTIVITY"
    ACTIVITY_AFTER_LEASE_END = "ACTIVITY_AFTER_LEASE_END"
    SUSPECTED_SUBLET = "SUSPECTED_SUBLET"
    DEVICE_OFFLINE = "DEVICE_OFFLINE"
    BATTERY_LOW = "BATTERY_LOW"


IOT_ALERT_LABEL: dict[str, str] = {
    IotAlert.UNEXPECTED_ACTIVITY: "空置房异常用能", IotAlert.DOOR_OPEN_WHILE_VACANT: "空置房门磁开启",
    IotAlert.NO_ACTIVITY: "在租房长期无活动", IotAlert.ACTIVITY_AFTER_LEASE_END: "租约到期后仍有活动",
    IotAlert.SUSPECTED_SUBLET: "疑似转租", IotAlert.DEVICE_OFFLINE: "设备离线", IotAlert.BATTERY_LOW: "电池电量低",
}
OCCUPANCY_LABEL: dict[str, str] = {"OCCUPIED_LIKE": "推断有人", "VACANT_LIKE": "推断空置", "UNKNOWN": "无法判断"}


class SampleFlag(StrEnum):
    OK = ""
    RESET = "RESET"  # counter dropped: reset / rollover; consumption counted from zero
    STEP_BACK = "STEP_BACK"  # small drop (e.g. after a power cut): zero consumption, new baseline
    SPIKE = "SPIKE"  # implausible jump: flagged and excluded from consumption
    BACKFILL = "BACKFILL"  # arrived after a newer sample; inserted between its neighbours


#: Unit statuses in which nobody should be living (UNEXPECTED_ACTIVITY / DOOR_OPEN_WHILE_VACANT apply).
VACANT_STATUSES = frozenset({UnitStatus.VACANT, UnitStatus.PENDING_DELIVERY, UnitStatus.OFF_MARKET,
                             UnitStatus.RENOVATION})


class CredentialKind(StrEnum):
    """Who a broker account belongs to (iot.credentials)."""

    DEVICE = "DEVICE"  # one device: publishes its own topics only
    GATEWAY = "GATEWAY"  # a gateway (Zigbee2MQTT, a Tasmota bridge, wM-Bus receiver): its devices' topics
    CONSUMER = "CONSUMER"  # rentwatch's consumer: subscribes to everything, publishes nothing
