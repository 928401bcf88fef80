"""Objects the routes of several resources look up the same way for the caller: found and in the caller's scope,
or 404/403 — written once so a route cannot forget the scope check."""

from __future__ import annotations

from sanic import Request

from api.access import principal_of
from core.errors import NotFound
from models.accounts import User
from models.refunds import DepositRefund


async def actor_of(request: Request) -> User:
    """The signed-in user, for the service calls that record who acted."""
    return await User.get(id=principal_of(request).user_id)


async def refund_for_staff(request: Request, refund_id: int) -> DepositRefund:
    """A deposit refund of one of the caller's buildings (404 when there is none, 403 outside the scope)."""
    refund = await DepositRefund.get_or_none(id=refund_id)
    if refund is None:
        raise NotFound("deposit refund not found")
    principal_of(request).require_building(refund.building_id, "deposit refund")
    return refund
