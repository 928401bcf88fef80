"""Console sessions for every user of the world (tenants included: the console must refuse them anyway), so the
route-scope walk can call console routes with a session cookie and its CSRF token."""

from console.sessions import COOKIE_NAME, start_session


async def extend_world(world, side, now) -> None:
    users = [side.manager, side.inspector, side.finance, side.tenant_user]
    if side.label == "A":
        users += [world.admin, world.executive]
    if side.label == "A":
        from models.iot import CommissioningEntry

        world.console_extra["commissioning"] = await CommissioningEntry.create(
            format="GENERIC", external_id="unknown-door-1", topic="rw/generic/unknown-door-1",
            sample_payload='{"contact": false}', first_seen=now, last_seen=now)
    for user in users:
        token, row = await start_session(user, now=now, hours=12)
        world.console[user.id] = (token, row.csrf_token)


def console_headers(world, user) -> dict[str, str]:
    token, csrf = world.console[user.id]
    return {"Cookie": f"{COOKIE_NAME}={token}", "X-CSRF-Token": csrf}
