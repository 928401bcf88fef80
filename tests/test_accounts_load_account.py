"""accounts.scope.load_account (an uncached request's authentication in one statement) gives the principal that
load_principal builds from the User model, for every kind of user, on SQLite and PostgreSQL."""

from __future__ import annotations

from accounts.choices import Role, StaffDuty
from accounts.scope import load_account, load_principal
from models.accounts import User
from models.portfolio import BuildingStaff


async def test_load_account_equals_load_principal_for_every_user(world):
    roaming = await User.create(name="两栋楼", role=Role.INSPECTOR, token_version=3)
    for building, duty in ((world.a.building, StaffDuty.INSPECTOR), (world.b.building, StaffDuty.INSPECTOR),
                           (world.b.building, StaffDuty.MANAGER)):
        await BuildingStaff.create(building=building, user=roaming, duty=duty)
    unassigned = await User.create(name="未分配", role=Role.FINANCE, is_active=False)
    users = await User.all().order_by("id")
    assert {u.role for u in users} == set(Role) and roaming in users and unassigned in users
    for user in users:
        account = await load_account(user.id)
        assert account is not None
        assert account.principal == await load_principal(user), user.name
        assert (account.is_active, account.token_version) == (user.is_active, user.token_version)
    roaming_account = await load_account(roaming.id)
    assert roaming_account is not None
    assert roaming_account.principal.building_ids == {world.a.building.id, world.b.building.id}
    unassigned_account = await load_account(unassigned.id)
    assert unassigned_account is not None and unassigned_account.principal.building_ids == frozenset()
    assert await load_account(max(u.id for u in users) + 1) is None
