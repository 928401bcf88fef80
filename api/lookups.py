"""Objects the routes of several resources look up the same way for the caller: found and in the caller's scope,
or 404/403 — written once so a route cannot forget the scope check."""

from __future__ import annotations

from sanic import Request

from accounts.scope import get_in_scope
from api.access import principal_of
from models.accounts import User
from models.refunds import DepositRefund


async def actor_of(request: Request) -> User:
    """The signed-in user, for the service calls that record who acted."""
    return await User.get(id=principal_of(request).user_id)


async def refund_for_staff(request: Request, refund_id: int) -> DepositRefund:
    """A deposit refund of one of the caller's buildings (404 when there is none, 403 outside the scope)."""
    return await get_in_scope(principal_of(request), DepositRefund, refund_id, "deposit refund")
