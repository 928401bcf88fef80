"""Turn request bodies and query strings into typed values, or a 400/422 in the one error shape."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from core.errors import BadRequest, ValidationFailed

M = TypeVar("M", bound=BaseModel)


def field_errors(exc: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in err["loc"]) or "(body)", "message": err["msg"], "type": err["type"]}
        for err in exc.errors()
    ]


#: No request of ours nests deeper than a handful of levels; a deeper document is an attack on the parser or
#: on the validators (both recurse), refused before either sees it.
MAX_JSON_DEPTH = 32


def json_depth(value: Any) -> int:
    """Nesting depth of a parsed document, computed without recursion (a deep document must not crash it)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            node = list(node.values())
        if isinstance(node, list):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                stack.extend((child, depth + 1) for child in node)
    return deepest


def parse_json_body(raw: bytes | None) -> Any:
    if not raw:
        raise BadRequest("request body must be a JSON document", code="MALFORMED_JSON")
    too_deep = False
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"request body is not valid JSON: {exc}", code="MALFORMED_JSON") from None
    except RecursionError:
        too_deep = True
    if too_deep or json_depth(document) > MAX_JSON_DEPTH:
        raise ValidationFailed(f"request body nests deeper than {MAX_JSON_DEPTH} levels",
                               code="JSON_TOO_DEEP", details={"max_depth": MAX_JSON_DEPTH})
    return document


def validate(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("request failed validation", details={"fields": field_errors(exc)}) from None


def parse_body(model: type[M], raw: bytes | None) -> M:
    return validate(model, parse_json_body(raw))


def parse_query(model: type[M], args: Any) -> M:
    """Query strings arrive as lists of strings; take the single value of each key."""
    data = {key: (values[0] if len(values) == 1 else values) for key, values in args.items()}
    return validate(model, data)
