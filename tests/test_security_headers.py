"""Headers on every response: nosniff (photo originals too), no-store on the API's JSON, a strict CSP on every
served HTML document (the console's own; /docs, which has no inline code either)."""

import base64
import hashlib
import re
import uuid

from api.headers import content_security_policy
from tests.support.inspections_helpers import png_bytes


def policy(response) -> dict[str, str]:
    value = response.headers["content-security-policy"]
    return {part.split()[0]: part for part in (p.strip() for p in value.split(";")) if part}


async def test_api_json_is_nosniff_and_no_store(client, world):
    for path, user in [("/api/v1/units", world.admin), ("/api/v1/leases", world.a.manager),
                       (f"/api/v1/me/leases/{world.a.lease.id}/statement", world.a.tenant_user),
                       ("/api/v1/nothing-here", world.admin)]:
        _, response = await client.get(path, headers=world.auth(user))
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["cache-control"] == "no-store", path
    _, response = await client.get("/api/v1/units")  # the 401 error body too
    assert response.status == 401 and response.headers["cache-control"] == "no-store"


async def test_photo_files_are_nosniff_and_keep_their_private_caching(client, world):
    a = world.a
    pid = uuid.uuid4()
    _, response = await client.post("/api/v1/photos", files={"file": ("p.png", png_bytes(), "image/png")},
                                    data={"photo_id": str(pid), "unit_code": a.unit.code},
                                    headers=world.auth(a.inspector))
    assert response.status == 201, response.text
    for variant in ("original", "thumbnail", "evidence"):
        _, response = await client.get(f"/api/v1/photos/{pid}/{variant}", headers=world.auth(a.manager))
        assert response.status == 200, (variant, response.text)
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"].startswith("private")


async def test_docs_page_has_the_strict_policy_with_no_inline_exception(client, db):
    _, response = await client.get("/docs/swagger")
    assert response.status == 200 and response.headers["content-type"].startswith("text/html")
    assert response.headers["x-content-type-options"] == "nosniff"
    directives = policy(response)
    assert directives["default-src"] == "default-src 'self'"
    assert directives["object-src"] == "object-src 'none'" and "frame-ancestors" in directives
    assert directives["script-src"] == "script-src 'self'" and directives["style-src"] == "style-src 'self'"
    assert re.findall(rb"<script>(.*?)</script>", response.body, re.S) == []
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert "unsafe-eval" not in response.headers["content-security-policy"]


def test_an_injected_script_is_not_allowed_by_the_policy_of_another_document():
    page = b"<html><script>good()</script></html>"
    injected = b"<html><script>evil()</script></html>"
    good_policy = content_security_policy(page)
    evil_digest = base64.b64encode(hashlib.sha256(b"evil()").digest()).decode()
    assert evil_digest not in good_policy and evil_digest in content_security_policy(injected)
    assert "script-src 'self' 'sha256-" in good_policy
    assert content_security_policy(b"<html><script src='/x.js'></script></html>").count("sha256") == 0


async def test_console_pages_keep_the_console_policy(client, world):
    _, response = await client.get("/console/board", headers=world.console_auth(world.admin))
    assert response.status == 200
    assert policy(response)["script-src"] == "script-src 'self'"
    assert response.headers["x-content-type-options"] == "nosniff"
    _, response = await client.get("/console/static/console.js")
    assert response.headers["x-content-type-options"] == "nosniff"
