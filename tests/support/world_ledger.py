"""Each side's lease has its schedule (generated at signing): its first rent receivable, for the scope test."""

from models.leasing import Receivable


async def extend_world(world, side, now) -> None:
    side.extra["receivable"] = await Receivable.filter(lease_id=side.lease.id, charge="RENT").order_by(
        "period_start").first()
