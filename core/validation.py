"""Turn request bodies and query strings into typed values, or a 400/422 in the one error shape."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

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


# ------------------------------------------------------------------------------------------------ bounds
# Python integers and dates are unbounded where our columns and date arithmetic are not: an id of 10**20, a
# version of 10**30 or a capture time in year 9999 passed pydantic and failed later (OverflowError, a driver
# error) as a 500. Every typed input is checked here once, by field name and type, before any code uses it.

INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
#: Dates and times outside this window are not rental business (and near year 1 / 9999, ±timedelta overflows).
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2199, 12, 31)

#: Row ids: every routed table's primary key is an INTEGER column (32-bit on PostgreSQL).
RowId = Annotated[int, Field(ge=1, le=INT32_MAX)]
#: Counters stored in INTEGER columns (status_version, qr_version …).
Int32 = Annotated[int, Field(ge=-INT32_MAX - 1, le=INT32_MAX)]
#: No free text of ours is longer (fields state their own, smaller limits; this catches the ones that forgot).
MAX_TEXT = 10_000
UnitCode = Annotated[str, Field(min_length=1, max_length=40)]


def _int_limit(name: str) -> int:
    """Ids (``id``, ``*_id``) and versions (``*_version``) live in INTEGER columns, other integers in BIGINT."""
    return INT32_MAX if name == "id" or name.endswith(("_id", "_version")) else INT64_MAX


def bound_error(name: str, value: Any) -> str | None:
    """Why ``value`` (of the field or path parameter ``name``) cannot be stored or computed with, or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        limit = _int_limit(name)
        return None if -limit - 1 <= value <= limit else f"integer out of range (at most {limit})"
    if isinstance(value, datetime | date):
        day = value.date() if isinstance(value, datetime) else value
        if not EARLIEST_DATE <= day <= LATEST_DATE:
            return f"date out of range ({EARLIEST_DATE.isoformat()} to {LATEST_DATE.isoformat()})"
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return f"longer than {MAX_TEXT} characters"
    return None


def _leaves(model: BaseModel) -> Iterator[tuple[str, str, Any]]:
    """(dotted location, field name, value) of every typed value. Raw JSON is not entered: dicts, and the
    fields a model names in ``raw_fields`` (a sync batch's items, each validated on its own later so that a
    bad one is that item's error). Iterative, like json_depth."""
    stack: list[tuple[str, str, Any]] = [("", "", model)]
    while stack:
        loc, name, value = stack.pop()
        if isinstance(value, BaseModel):
            raw: frozenset[str] = getattr(type(value), "raw_fields", frozenset())
            stack.extend((f"{loc}.{key}" if loc else key, key, getattr(value, key))
                         for key in type(value).model_fields if key not in raw)
        elif isinstance(value, list | tuple | set | frozenset):
            stack.extend((f"{loc}.{i}", name, item) for i, item in enumerate(value))
        elif not isinstance(value, Mapping):
            yield loc, name, value


def check_bounds(model: M) -> M:
    """422 (the pydantic error shape) when a typed value is outside what our columns and clocks hold."""
    errors = sorted(({"field": loc, "message": message, "type": "out_of_range"}
                     for loc, name, value in _leaves(model) if (message := bound_error(name, value))),
                    key=lambda error: error["field"])
    if errors:
        raise ValidationFailed("request failed validation", details={"fields": errors})
    return model


def check_path_params(params: Mapping[str, Any], text_limits: Mapping[str, int]) -> None:
    """Path parameters are input too: ids within their column, codes within theirs (``text_limits``)."""
    errors = []
    for name, value in params.items():
        message = bound_error(name, value)
        if message is None and isinstance(value, str) and len(value) > text_limits.get(name, MAX_PATH_TEXT):
            message = f"longer than {text_limits.get(name, MAX_PATH_TEXT)} characters"
        if message:
            errors.append({"field": f"path.{name}", "message": message, "type": "out_of_range"})
    if errors:
        raise ValidationFailed("request failed validation", details={"fields": errors})


#: A path segment we route on (codes, tokens, file names) is never longer than this.
MAX_PATH_TEXT = 512


def validate(model: type[M], data: Any) -> M:
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed("request failed validation", details={"fields": field_errors(exc)}) from None
    return check_bounds(parsed)


def parse_body(model: type[M], raw: bytes | None) -> M:
    return validate(model, parse_json_body(raw))


def parse_query(model: type[M], args: Any) -> M:
    """Query strings arrive as lists of strings; take the single value of each key."""
    data = {key: (values[0] if len(values) == 1 else values) for key, values in args.items()}
    return validate(model, data)
