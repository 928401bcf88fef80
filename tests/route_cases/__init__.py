"""Route × role table for tests/test_route_scope.py, one module per domain, each exposing ``CASES``.

A case names a route (blueprint.route_name), the roles allowed, and how to build a request that targets an
object of a given side (building A or B). Every registered route must have a case."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accounts.choices import Role
from accounts.permissions import ADMINS, EVERYONE, MANAGERS
from accounts.permissions import STAFF as ALL_STAFF

# The roles of every case come from the single table (accounts.permissions); test_route_scope pins its values.
__all__ = ["ADMINS", "ALL_STAFF", "EVERYONE", "MANAGERS", "RouteCase", "all_cases"]


@dataclass(frozen=True)
class RouteCase:
    method: str
    path: Callable[[Any, Any], str]  # (world, side) -> path
    roles: frozenset[Role] = frozenset()
    public: bool = False
    #: the request targets one building's object: scoped staff and tenants of the other side must be refused.
    scoped: bool = True
    body: Callable[[Any, Any], Any] | None = None  # (world, side) -> JSON body
    #: tenant routes addressing one tenant's object by id (e.g. /me/deposit-refunds/<id>): tenant A must be
    #: refused on side B's object. Routes with no id in the path ("my list") set scoped=False instead.
    tenant_own: bool = False
    form: Callable[[Any, Any], dict] | None = None  # multipart (files) request builder
    notes: str = ""
    extra: dict = field(default_factory=dict)


def all_cases() -> dict[str, RouteCase]:
    cases: dict[str, RouteCase] = {}
    for info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, case in module.CASES.items():
            if name in cases:
                raise ValueError(f"route case {name} defined twice")
            cases[name] = case
    return cases
