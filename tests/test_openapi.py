"""/docs/openapi.json says what each operation takes and answers, from the same models that validate requests
(api.access declarations, api.openapi), and the answers of the real routes match what it says."""

from __future__ import annotations

import ast
import inspect
import json
from pathlib import Path

import pytest

from accounts.choices import Role
from api.access import File, route_access_rule
from tests.route_cases import all_cases
from tests.test_route_scope import call, headers_for, is_console

ROUTES_DIR = Path(__file__).resolve().parent.parent / "api" / "routes"
METHODS = {"get", "post", "put", "patch", "delete"}
ROLES = [Role.INSPECTOR, Role.MANAGER, Role.FINANCE, Role.ADMIN, Role.EXECUTIVE, Role.TENANT]


@pytest.fixture
async def spec(client):
    _, response = await client.get("/docs/openapi.json")
    assert response.status == 200
    return response.json


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                yield path, method, op


def resolve(spec: dict, ref: str) -> dict:
    assert ref.startswith("#/"), ref
    node = spec
    for part in ref[2:].split("/"):
        assert part in node, f"unresolved {ref}"
        node = node[part]
    return node


def refs_in(node):
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from refs_in(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs_in(value)


def api_handlers(app):
    return {route.name.split(".", 1)[1]: route for route in app.router.routes if route.path.startswith("api/")}


async def test_every_operation_is_described(spec, app):
    ops = list(operations(spec))
    assert len(ops) == len(api_handlers(app)) > 100  # every API route, and only those (no console pages)
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer",
                                                                "bearerFormat": "JWT"}
    handlers = api_handlers(app)
    failures = []
    for path, method, op in ops:
        where = f"{method.upper()} {path}"
        if not op.get("summary"):
            failures.append(f"{where}: no summary")
        if "security" not in op or op["security"] not in ([{"bearer": []}], [{}]):
            failures.append(f"{where}: security not declared")
        success = {status: r for status, r in op["responses"].items() if status.startswith("2")}
        own = {str(status) for status in route_access_rule(handlers[op["operationId"].split("~", 1)[1]].handler).status}
        if not success:
            failures.append(f"{where}: no 2xx response")
        for status, r in success.items():
            if status != "204" and not any("schema" in media for media in r.get("content", {}).values()):
                failures.append(f"{where}: {status} without a schema")
        for status, r in op["responses"].items():
            if not status.startswith("2") and status not in own:  # /health: its report, 503 when degraded
                schemas = [media["schema"] for media in r["content"].values()]
                if schemas != [{"$ref": "#/components/schemas/Error"}]:
                    failures.append(f"{where}: {status} not in the error shape")
        if op["security"] == [{"bearer": []}] and not {"401", "403"} <= set(op["responses"]):
            failures.append(f"{where}: 401/403 not listed")
        if method in {"post", "put", "patch"} and "requestBody" not in op and op.get("parameters", []) == [] \
                and "{" not in path:
            failures.append(f"{where}: a write with neither body, query nor path")
    assert not failures, "\n".join(failures)
    for ref in set(refs_in(spec)):
        resolve(spec, ref)


async def test_body_and_query_are_declared_where_the_handler_reads_them(spec, app):
    """A handler that reads a body or the query string declares the model, so the document shows it."""
    failures = []
    for name, route in api_handlers(app).items():
        rule = route_access_rule(route.handler)
        source = inspect.getsource(inspect.unwrap(route.handler))
        reads_body = "body_of(" in source or "request.body" in source or "request.files" in source
        if reads_body and not (rule.body or rule.files or rule.public):
            failures.append(f"{name}: reads a body without declaring it")
        if "query_of(" in source and rule.query is None:
            failures.append(f"{name}: reads the query without declaring it")
        method = next(iter(route.methods)).lower()
        op = spec["paths"][_spec_path(route)][method]
        if rule.body or rule.files:
            assert "requestBody" in op, name
        if rule.query is not None:
            declared = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
            assert declared == {f.alias or n for n, f in rule.query.model_fields.items()}, name
    assert not failures, "\n".join(failures)


def _spec_path(route) -> str:
    parts = []
    for part in route.path.split("/"):
        if part.startswith("<"):
            part = "{" + part[1:-1].split(":")[0] + "}"
        parts.append(part)
    return "/" + "/".join(parts)


def test_routes_validate_only_through_the_declared_models():
    """body_of / query_of / form_of refuse a model the route does not declare; calling the parsers directly
    would skip that check (and the document would drift from what is validated)."""
    direct = {"parse_body", "parse_query", "parse_json_body", "validate"}
    offenders = []
    for path in sorted(ROUTES_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in direct:
                offenders.append(f"{path.name}:{node.lineno} {node.func.id}")
    assert offenders == []


async def test_an_undeclared_model_is_refused(app):
    from pydantic import BaseModel
    from sanic import Blueprint
    from sanic.response import json as json_response

    from api.access import UndeclaredModel, access, body_of
    from api.app import create_app

    class Declared(BaseModel):
        a: int = 0

    class Other(BaseModel):
        b: int = 0

    seen: list[str] = []

    @access(public=True, body=Declared, response=Declared)
    async def handler(request):
        try:
            body_of(request, Other)
        except UndeclaredModel as exc:
            seen.append(str(exc))
        return json_response(body_of(request, Declared).model_dump())

    probe = create_app(app.ctx.settings, clock=app.ctx.clock, manage_db=False)
    bp = Blueprint("probe", url_prefix="/probe")
    bp.add_route(handler, "", methods=["POST"], name="probe")
    probe.blueprint(bp)
    from tests.support.asgi import AppClient

    _, response = await AppClient(probe).post("/probe", content=json.dumps({"a": 3}))
    assert response.status == 200 and response.json == {"a": 3}
    assert seen and "Other" in seen[0]


async def test_real_responses_match_their_declared_schemas(client, world, app):
    """Every route's 2xx answers in the shared test world, for every allowed role on both sides, validate against
    the response model it declares, with a status it declares."""
    routes = {route.name.split(".", 1)[1]: route for route in app.router.routes}
    failures, checked = [], 0
    for name, case in sorted(all_cases().items()):
        if is_console(case, world, world.a):
            continue
        rule = route_access_rule(routes[name].handler)
        for role in ([None] if case.public else [r for r in ROLES if r in case.roles]):
            for side in (world.a, world.b):
                headers = headers_for(world, case, side, world.user_for(role, "a")) if role else {}
                response = await call(client, case, world, side, headers)
                if not 200 <= response.status < 300:
                    continue
                if response.status not in rule.status:
                    failures.append(f"{name}: answered {response.status}, declares {rule.status}")
                if isinstance(rule.response, File):
                    continue
                if rule.response is None:
                    assert response.status == 204, name
                    continue
                try:
                    rule.response.model_validate(response.json)
                    checked += 1
                except Exception as exc:  # noqa: BLE001 - collected and reported together
                    failures.append(f"{name} as {role}: {exc}")
    assert not failures, "\n".join(failures[:20])
    assert checked > 100
