"""List routes return the same body per row as the detail route of that row (one serializer per resource):
``unit_code`` was null on every row of GET /leases and GET /devices while their details filled it."""

import pytest

#: (list path, detail path with {id}, id key, who asks, the child collections only the detail carries) — every
#: resource with both a list and a detail route. Apart from those collections, a row IS its detail body.
RESOURCES = [
    ("/api/v1/leases", "/api/v1/leases/{id}", "id", "admin", set()),
    ("/api/v1/devices", "/api/v1/devices/{id}", "id", "admin", set()),
    ("/api/v1/units", "/api/v1/units/{id}", "code", "admin", {"status_history"}),
    ("/api/v1/alerts", "/api/v1/alerts/{id}", "id", "admin", set()),
    ("/api/v1/status-reports", "/api/v1/status-reports/{id}", "id", "admin", set()),
    ("/api/v1/work-orders", "/api/v1/work-orders/{id}", "id", "admin", {"history"}),
    ("/api/v1/refunds", "/api/v1/refunds/{id}", "id", "admin", {"documents", "deductions", "timeline"}),
    ("/api/v1/contracts/documents", "/api/v1/contracts/documents/{id}", "id", "admin", set()),
    ("/api/v1/me/deposit-refunds", "/api/v1/me/deposit-refunds/{id}", "id", "tenant",
     {"documents", "deductions", "timeline"}),
    ("/api/v1/lease-health/leases", "/api/v1/lease-health/leases/{id}", "lease_id", "admin", {"flags"}),
]


def user_of(world, who):
    return world.admin if who == "admin" else world.a.tenant_user


async def get_json(client, world, path, who):
    _, response = await client.get(path, headers=world.auth(user_of(world, who)))
    assert response.status == 200, (path, response.text)
    return response.json


@pytest.mark.parametrize("list_path,detail_path,key,who,collections", RESOURCES, ids=[r[0] for r in RESOURCES])
async def test_every_list_row_is_its_detail_body(client, world, list_path, detail_path, key, who, collections):
    rows = (await get_json(client, world, f"{list_path}?page_size=200" if who == "admin" else list_path, who))
    rows = rows["items"]
    assert rows, f"the test world has no {list_path} rows to compare"
    for row in rows:
        detail = await get_json(client, world, detail_path.format(id=row[key]), who)
        assert collections <= set(detail), (list_path, sorted(detail))
        detail = {k: v for k, v in detail.items() if k not in collections}
        assert row == detail, (list_path, row[key], {k: (row.get(k), detail.get(k))
                                                   for k in set(row) | set(detail) if row.get(k) != detail.get(k)})


async def test_lease_and_device_rows_name_their_unit(client, world):
    leases = await get_json(client, world, "/api/v1/leases", "admin")
    assert leases["items"] and all(row["unit_code"] for row in leases["items"])
    devices = await get_json(client, world, "/api/v1/devices", "admin")
    bound = [row for row in devices["items"] if row["unit_id"]]
    assert bound and all(row["unit_code"] for row in bound)
