"""Console sessions for every user of the world (tenants included: the console must refuse them anyway), so the
route-scope walk can call console routes with a session cookie and its CSRF token."""

from accounts.sessions import start_session
from console.sessions import COOKIE_NAME


async def extend_world(world, side, now) -> None:
    users = [side.manager, side.inspector, side.finance, side.tenant_user]
    if side.label == "A":
        users += [world.admin, world.executive]
    for user in users:
        token, row = await start_session(user, now=now, hours=12)
        world.console[user.id] = (token, row.csrf_token)


def console_headers(world, user) -> dict[str, str]:
    token, csrf = world.console[user.id]
    return {"Cookie": f"{COOKIE_NAME}={token}", "X-CSRF-Token": csrf}
