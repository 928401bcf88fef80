"""IoT objects for both buildings: a door device on the vacant unit and an open alert there."""

from iot.choices import DeviceFormat, DeviceKind, IotAlert
from iot.service import DeviceIn, register_device


async def extend_world(world, side, now) -> None:
    from alerts.service import raise_alert

    device, _ = await register_device(DeviceIn(external_id=f"door-{side.label}", format=DeviceFormat.GENERIC,
                                               kind=DeviceKind.DOOR, unit_code=side.unit.code), None)
    alert, _ = await raise_alert(alert_type=IotAlert.DOOR_OPEN_WHILE_VACANT, now=now, unit_id=side.unit.id,
                                 building_id=side.building.id, explanation="world", evidence={})
    side.extra["device"] = device
    side.extra["alert"] = alert
