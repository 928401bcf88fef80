import json

import pytest

from models.leasing import Lease


def assert_error_shape(response, status, code):
    assert response.status == status, response.text
    assert set(response.json) == {"error"}
    error = response.json["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code and error["message"]
    assert error["details"]["request_id"] == response.headers["x-request-id"] != ""
    return error


@pytest.mark.parametrize("body", [b"{not json", b"", b"\xff\xfe", b"[1,"])
async def test_malformed_json_is_400(client, world, body):
    _, response = await client.post("/api/v1/leases", headers=world.auth(world.a.manager), content=body)
    assert_error_shape(response, 400, "MALFORMED_JSON")
    assert await Lease.filter(unit_id=world.a.unit.id).count() == 0


async def test_validation_lists_fields(client, world):
    _, response = await client.post("/api/v1/leases", headers=world.auth(world.a.manager),
                                    content=json.dumps({"unit_code": world.a.unit.code}))
    error = assert_error_shape(response, 422, "VALIDATION_ERROR")
    fields = {f["field"] for f in error["details"]["fields"]}
    assert {"tenant_name", "start_date", "end_date", "monthly_rent_fen", "deposit_fen"} <= fields


async def test_unknown_unit_code(client, world):
    _, response = await client.get("/api/v1/units/SZ-NOPE-0000", headers=world.auth(world.admin))
    error = assert_error_shape(response, 404, "UNKNOWN_UNIT")
    assert error["details"]["unit_code"] == "SZ-NOPE-0000"


async def test_unknown_route_and_method(client, world):
    _, response = await client.get("/api/v1/nothing-here")
    assert_error_shape(response, 404, "ROUTE_NOT_FOUND")
    _, response = await client.delete("/api/v1/units", headers=world.auth(world.admin))
    assert_error_shape(response, 405, "METHOD_NOT_ALLOWED")


@pytest.mark.parametrize("query", ["page=0", "page_size=1000", "status=FLYING", "page=abc"])
async def test_bad_query_is_422(client, world, query):
    _, response = await client.get(f"/api/v1/units?{query}", headers=world.auth(world.admin))
    assert_error_shape(response, 422, "VALIDATION_ERROR")


async def test_missing_auth_header(client, db):
    _, response = await client.get("/api/v1/units", headers={"Authorization": "Basic abc"})
    assert_error_shape(response, 401, "AUTH_REQUIRED")


async def test_openapi_document_is_served(client, db):
    _, response = await client.get("/docs/openapi.json")
    assert response.status == 200
    assert "/api/v1/units" in response.json["paths"]


async def test_units_filters_and_pagination(client, world):
    headers = world.auth(world.admin)
    _, response = await client.get("/api/v1/units?property_type=RESIDENTIAL&page_size=1&page=2", headers=headers)
    body = response.json
    assert body["total"] == 4 and body["page"] == 2 and len(body["items"]) == 1
    _, response = await client.get("/api/v1/units?city=HZ&status=PENDING_DELIVERY", headers=headers)
    assert [u["code"] for u in response.json["items"]] == [world.b.occupied_unit.code]
    _, response = await client.get("/api/v1/units?unit_type=shop", headers=headers)
    assert {u["code"] for u in response.json["items"]} == {world.a.units[2].code, world.b.units[2].code}


@pytest.mark.parametrize("path", ["/api/v1/leases", "/api/v1/auth/wechat/login"])
@pytest.mark.parametrize("depth", [33, 10_000])
async def test_deeply_nested_json_is_refused_not_a_500(client, world, path, depth):
    """Issue 12: a document nested 10,000 deep crashed the parser (RecursionError) even before authentication."""
    body = ("[" * depth + "]" * depth).encode()
    _, response = await client.post(path, headers=world.auth(world.a.manager), content=body)
    error = assert_error_shape(response, 422, "JSON_TOO_DEEP")
    assert error["details"]["max_depth"] == 32
    assert await Lease.filter(unit_id=world.a.unit.id).count() == 0


async def test_json_at_the_depth_limit_reaches_validation(client, world):
    body = json.dumps({"unit_code": [[[[1]]]]}).encode()
    _, response = await client.post("/api/v1/leases", headers=world.auth(world.a.manager), content=body)
    assert_error_shape(response, 422, "VALIDATION_ERROR")


async def test_page_beyond_a_64_bit_offset_is_422(client, world):
    _, response = await client.get("/api/v1/units?page=10000000000000000000", headers=world.auth(world.admin))
    assert_error_shape(response, 422, "VALIDATION_ERROR")


async def test_error_body_carries_the_request_id_of_the_header_and_the_access_log(client, world, caplog):
    """A user quoting an error's request id finds its access log line; a proxy's sane id is kept."""
    import logging

    with caplog.at_level(logging.INFO, logger="rentwatch.requests"):
        _, response = await client.get("/api/v1/units/SZ-NOPE-0000",
                                       headers={**world.auth(world.admin), "X-Request-Id": "edge-42.a"})
    error = assert_error_shape(response, 404, "UNKNOWN_UNIT")
    assert error["details"]["request_id"] == "edge-42.a"
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "rentwatch.requests"]
    assert [(line["status"], line["request_id"]) for line in lines] == [(404, "edge-42.a")]


@pytest.mark.parametrize("incoming", ["x" * 65, "two words", "id/<script>"])
async def test_an_insane_incoming_request_id_is_replaced(client, world, incoming):
    _, response = await client.get("/api/v1/nothing-here", headers={"X-Request-Id": incoming})
    error = assert_error_shape(response, 404, "ROUTE_NOT_FOUND")  # no route: refused before request middleware
    assert error["details"]["request_id"] != incoming

