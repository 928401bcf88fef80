async def test_health_reports_database(client):
    _, response = await client.get("/api/v1/health")
    body = response.json
    assert body["database"]["ok"] is True
    assert "broker" in body


async def test_units_list_needs_auth(client):
    _, response = await client.get("/api/v1/units")
    assert response.status == 401
    assert response.json["error"]["code"] == "AUTH_REQUIRED"


async def test_units_list_scoped(client, world):
    _, response = await client.get("/api/v1/units", headers=world.auth(world.a.inspector))
    assert response.status == 200, response.json
    codes = {u["code"] for u in response.json["items"]}
    assert codes == {u.code for u in world.a.units}
