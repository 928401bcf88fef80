"""Schemathesis over every operation of /docs/openapi.json against the real app (a live server on loopback, the
shared test world in the real database), each example sent with the token of a role drawn for it: no 5xx, every
non-2xx answer in the one error shape, and every answer conforming to the schema the document declares for its
status. A small budget (a few examples an operation, about a minute here). It uses the database (the world), so
it runs in the PostgreSQL pass too: that is where an integer past its column's range fails in the driver."""

from __future__ import annotations

import asyncio
import json

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import CheckContext
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.choices import Role
from tests.support.browser import live_server

EXAMPLES_PER_OPERATION = 4
ROLES = [Role.INSPECTOR, Role.MANAGER, Role.FINANCE, Role.ADMIN, Role.EXECUTIVE, Role.TENANT]


def declared_schema(case, status: int) -> dict | None:
    declared = case.operation.definition.raw.get("responses", {}).get(str(status))
    return declared["content"].get("application/json", {}).get("schema") if declared else None


def no_undeclared_server_error(ctx: CheckContext, response, case) -> bool | None:
    """Never a 500; a 503 only where the document says a service it needs may be missing (WeChat Pay unset)."""
    if response.status_code < 500:
        return None
    assert response.status_code == 503 and declared_schema(case, 503) is not None, \
        f"server error {response.status_code}: {response.content[:300]!r}"
    return True


def error_shape(ctx: CheckContext, response, case) -> bool | None:
    """A non-2xx answer is {"error": {"code", "message", "details"}}, unless the document declares another body
    for that status (/health answers its report with 503 when degraded)."""
    if 200 <= response.status_code < 300:
        return None
    if declared_schema(case, response.status_code) not in (None, {"$ref": "#/components/schemas/Error"}):
        return None
    body = json.loads(response.content)
    error = body.get("error") if isinstance(body, dict) else None
    assert isinstance(error, dict) and set(error) == {"code", "message", "details"}, \
        f"{response.status_code} outside the error shape: {response.content[:300]!r}"
    assert isinstance(error["code"], str) and isinstance(error["message"], str) and isinstance(error["details"], dict)
    return True


CHECKS = [no_undeclared_server_error, error_shape, response_schema_conformance]


def fuzz(base: str, tokens: dict[str, str]) -> list[str]:
    """Every operation, a few examples each; the failures (operation, role, what), or []."""
    document = requests.get(f"{base}/docs/openapi.json", timeout=30).json()
    schema = schemathesis.openapi.from_dict(document)
    session = requests.Session()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # an Err (unloadable operation) raises here: a failure
        run_operation(operation, base, tokens, session, failures)
    return failures


def run_operation(operation, base: str, tokens: dict[str, str], session: requests.Session,
                  failures: list[str]) -> None:
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], print_blob=False,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(), role=st.sampled_from(sorted(tokens)))
    def run(case, role):
        headers = {"Authorization": f"Bearer {tokens[role]}"} if role != "anonymous" else {}
        response = case.call(base_url=base, session=session, headers=headers, timeout=60)
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except BaseException as exc:  # noqa: BLE001 - every operation is run; the failures are reported together
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        found = getattr(exc, "exceptions", None) or [exc]
        failures.append(f"{operation.method.upper()} {operation.path}: " + " | ".join(
            " ".join(str(failure).split())[:500] for failure in found))


async def test_schemathesis_finds_no_server_error_and_no_answer_outside_its_schema(app, world):
    tokens = {str(role): world.token(world.user_for(role, "a")) for role in ROLES}
    tokens["anonymous"] = ""
    async with live_server(app) as base:
        failures = await asyncio.to_thread(fuzz, base, tokens)
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:40])
