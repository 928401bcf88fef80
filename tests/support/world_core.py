from models.workorders import WorkOrder


async def extend_world(world, side, now) -> None:
    side.extra["cleaning_order"] = await WorkOrder.get(trigger_ref=f"lease:{side.lease.id}")
