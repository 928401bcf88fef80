"""The API document (/docs/openapi.json, built by sanic-ext) from each route's ``@access`` declaration: the request
models that validate (api.access.body_of / query_of / form_of refuse any other), the response models
(api.responses), the error statuses the declaration implies, and who may call it (a bearer token, or nothing for a
public route). Only the JSON API under /api/v1 is documented: the console's pages and forms are not an API."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from sanic import Sanic
from sanic_ext.extensions.openapi.builders import OperationStore, SpecificationBuilder
from sanic_ext.extensions.openapi.definitions import Parameter

from api.access import AccessRule, File, route_access_rule

REF = "#/components/schemas/{model}"
BEARER = "bearer"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The one error shape of every non-2xx answer (api.errors).
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["error"],
    "properties": {"error": {
        "type": "object", "required": ["code", "message", "details"],
        "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "details": {"type": "object"}},
    }},
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
ERROR_MEANING = {400: "Malformed request (not JSON, an empty file)", 401: "No valid bearer token",
                 403: "The caller's role may not use this endpoint", 404: "Not found, or outside the caller's scope",
                 409: "Conflicts with the current state", 410: "Gone (the stored file is missing)",
                 413: "Too large", 422: "Failed validation", 429: "Too many attempts (see Retry-After)",
                 503: "A service it needs is unavailable"}


def openapi30(schema: Any) -> Any:
    """pydantic writes JSON Schema 2020-12; sanic-ext's document is OpenAPI 3.0: ``{"type": "null"}`` alternatives
    become ``nullable``, ``const`` a one-value ``enum``, numeric exclusive bounds the 3.0 boolean form."""
    if isinstance(schema, list):
        return [openapi30(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    for key in ("anyOf", "oneOf"):
        options = out.get(key)
        if isinstance(options, list) and {"type": "null"} in options:
            rest = [option for option in options if option != {"type": "null"}]
            del out[key]
            if len(rest) == 1 and "$ref" not in rest[0]:
                out.update(rest[0])
            else:
                out[key] = rest
            out["nullable"] = True
    out = {key: openapi30(value) for key, value in out.items()}
    if out.get("type") == "null":
        del out["type"]
        out["nullable"] = True
    if "const" in out:
        out["enum"] = [out.pop("const")]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if isinstance(out.get(bound), int | float) and not isinstance(out.get(bound), bool):
            out[plain] = out.pop(bound)
            out[bound] = True
    out.pop("examples", None)
    return out


def error_statuses(rule: AccessRule, method: str, has_path_params: bool) -> set[int]:
    """What a route can answer besides its 2xx, from what it declares."""
    statuses = set(rule.errors)
    if rule.body or rule.files:
        statuses |= {400, 422}
    if rule.files:
        statuses.add(413)
    if rule.query or rule.form or has_path_params:
        statuses.add(422)
    if not rule.public:
        statuses |= {401, 403}
        if has_path_params:
            statuses.add(404)
        if method in WRITE_METHODS and not rule.read_only:
            statuses.add(409)
    return statuses


def _models(rules: list[AccessRule]) -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    found: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
    for rule in rules:
        for model in (rule.body, rule.query, rule.form):
            if model is not None:
                found[(model, "validation")] = None
        if isinstance(rule.response, type):
            found[(rule.response, "serialization")] = None
    return list(found)


@functools.cache
def _schemas(models: tuple[tuple[type[BaseModel], JsonSchemaMode], ...]) -> tuple[Any, dict[str, Any]]:
    """The models' JSON schemas, computed once per process: they depend on the models alone, and pydantic takes
    about half a second over this API's ~200 models — each app built in a process (tests build hundreds) paid it."""
    refs, top = models_json_schema(models, ref_template=REF)
    return refs, openapi30(top.get("$defs", {}))


def summary_of(handler: Any, rule: AccessRule, name: str) -> tuple[str, str]:
    doc = inspect.getdoc(handler) or ""
    first, _, rest = doc.partition("\n")
    summary = first.strip() or rule.note or name.rsplit(".", 1)[-1].replace("_", " ")
    description = "\n\n".join(part for part in (rest.strip(), rule.note if first.strip() else "") if part)
    return summary, description


def form_schema(rule: AccessRule, refs: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """A multipart body: the form model's fields plus the file fields."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    if rule.form is not None:
        ref = refs[(rule.form, "validation")]["$ref"].rsplit("/", 1)[-1]
        form = defs[ref]
        properties.update(form.get("properties", {}))
        required.extend(form.get("required", []))
    for name in rule.files:
        properties[name] = {"type": "string", "format": "binary"}
        if rule.form is not None:  # an import also takes the file as the raw body: then the field is optional
            required.append(name)
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def inline_refs(schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema with its references (enums) written out: Swagger UI stops rendering the page at
    a parameter whose schema is a reference inside ``anyOf``."""
    out = dict(schema)
    if "$ref" in out:
        out = {**defs[out.pop("$ref").rsplit("/", 1)[-1]], **out}
    options = out.pop("anyOf", None)
    if options is not None and len(options) == 1:
        out = {**inline_refs(options[0], defs), **out}
    elif options is not None:
        out["anyOf"] = [inline_refs(option, defs) for option in options]
    return out


def query_parameters(schema: dict[str, Any], defs: dict[str, Any]) -> list[Parameter]:
    required = set(schema.get("required", []))
    # Parameter is typed for sanic-ext's own type-to-schema path; it serializes a plain JSON schema as it is.
    return [Parameter(name, inline_refs(prop, defs), "query", required=name in required,  # type: ignore[arg-type]
                      description=prop.get("description"))
            for name, prop in schema.get("properties", {}).items()]


def document_api(app: Sanic) -> None:
    """Feed sanic-ext's operation store and components from the routes' declarations (at start-up)."""
    spec = SpecificationBuilder()
    store = OperationStore()
    routes = []
    for route in app.router.routes:
        rule = route_access_rule(route.handler)
        if not route.path.startswith("api/") or rule is None:
            store[route.handler].exclude()
            continue
        routes.append((route, rule))
    refs, defs = _schemas(tuple(_models([rule for _, rule in routes])))
    for name, schema in defs.items():
        spec.add_component("schemas", name, schema)
    spec.add_component("schemas", "Error", ERROR_SCHEMA)
    spec.add_component("securitySchemes", BEARER, {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    for route, rule in routes:
        op = store[route.handler]
        if getattr(op, "_rw_documented", False):  # the store is process-wide: a second app finds it filled
            continue
        op._rw_documented = True
        summary, description = summary_of(route.handler, rule, route.name)
        op.describe(summary=summary, description=description or None)
        op.disable_autodoc()
        method = next(iter(route.methods))
        if rule.body is not None:
            op.body({"application/json": {"schema": refs[(rule.body, "validation")]}}, required=rule.body_required)
        elif rule.files:
            content: dict[str, Any] = {"multipart/form-data": {"schema": form_schema(rule, refs, defs)}}
            if rule.form is None:
                content["application/octet-stream"] = {"schema": {"type": "string", "format": "binary"}}
            op.body(content, required=True)
        if rule.query is not None:
            ref = refs[(rule.query, "validation")]["$ref"].rsplit("/", 1)[-1]
            op.parameters.extend(query_parameters(defs[ref], defs))
        for status in rule.status:
            if isinstance(rule.response, File):
                op.response(status, {rule.response.media_type: {"schema": {"type": "string", "format": "binary"}}},
                            "OK")
            elif rule.response is not None:
                op.response(status, {"application/json": {"schema": refs[(rule.response, "serialization")]}}, "OK")
            else:
                op.responses[status] = _no_content()
        for status in sorted(error_statuses(rule, method, "<" in route.path) - set(rule.status)):
            op.response(status, {"application/json": {"schema": ERROR_REF}}, ERROR_MEANING.get(status, "Error"))
        if rule.public:
            op.security.append({})  # no security requirement: anyone may call it
        else:
            op.secured(BEARER)


def _no_content() -> Any:
    from sanic_ext.extensions.openapi.definitions import Response

    return Response(content=None, description="No content")
