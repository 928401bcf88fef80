"""Small helpers the console views share."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse, redirect

from accounts.scope import Principal
from config.settings import Settings
from core.validation import validate
from models.accounts import User
from models.portfolio import Building, City


def now_of(request: Request) -> datetime:
    return request.app.ctx.clock.now()


def settings_of(request: Request) -> Settings:
    return request.app.ctx.settings


def principal_of(request: Request) -> Principal:
    return request.ctx.principal


async def actor_of(request: Request) -> User:
    return await User.get(id=principal_of(request).user_id)


def form_data(request: Request) -> dict[str, Any]:
    """A submitted form as a dict of single values (lists for repeated names ending in ``[]``)."""
    form: Mapping[str, list[str]] = request.form or {}
    data: dict[str, Any] = {}
    for key, values in form.items():
        if key.endswith("[]"):
            data[key[:-2]] = values
        else:
            data[key] = values[0] if values else ""
    data.pop("csrf_token", None)
    return data


def parse_form(model, request: Request):
    return validate(model, form_data(request))


def query_args(request: Request) -> dict[str, Any]:
    return {key: values[0] for key, values in request.args.items() if values and values[0] != ""}


async def visible_buildings(principal: Principal) -> list[Building]:
    return await Building.filter(**principal.building_filter("id")).order_by("code")


async def visible_cities(principal: Principal) -> list[City]:
    ids = await Building.filter(**principal.building_filter("id")).values_list("city_id", flat=True)
    return await City.filter(id__in=list(set(ids))).order_by("code")


async def building_zones(building_ids) -> dict[int, str]:
    ids = [i for i in set(building_ids) if i]
    return dict(await Building.filter(id__in=ids).values_list("id", "timezone")) if ids else {}


def back(request: Request, default: str) -> HTTPResponse:
    """Redirect after a form post to the page it came from (same-origin console pages only)."""
    target = request.form.get("next") if request.form else None
    if not target or not target.startswith("/console/") or target.startswith("//"):
        target = default
    return redirect(target, status=303)
