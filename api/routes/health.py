from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import json

from api.access import access
from core.db import ping

bp = Blueprint("health", url_prefix="/health")


@bp.get("", name="health")
@access(public=True, note="liveness for load balancers; shows no data")
async def health(request: Request):
    database_ok = await ping()
    broker = await request.app.ctx.broker_status()
    ok = database_ok and broker.get("reachable", False)
    return json({"status": "ok" if ok else "degraded", "database": {"ok": database_ok},
                 "broker": broker}, status=200 if ok else 503)
