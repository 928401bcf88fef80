"""Every input bounded where it enters: ids and versions within their columns, dates within a sane window,
string lengths. Each is a 422 in the one error shape, before any query or date arithmetic (they were 500s)."""

import json
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar

import pytest
from pydantic import BaseModel

from core.errors import ValidationFailed
from core.validation import INT32_MAX, INT64_MAX, bound_error, check_bounds, check_path_params
from models.inspections import StatusReport
from models.leasing import Lease
from models.portfolio import Unit
from tests.support.inspections_helpers import report_body
from tests.test_api_errors import assert_error_shape

HUGE = 10**20
LONG_CODE = "X" * 5000


def fields_of(response) -> dict[str, str]:
    error = assert_error_shape(response, 422, "VALIDATION_ERROR")
    return {f["field"]: f["type"] for f in error["details"]["fields"]}


@pytest.mark.parametrize("name,value,refused", [
    ("lease_id", INT32_MAX, False), ("lease_id", INT32_MAX + 1, True), ("id", -(INT32_MAX + 2), True),
    ("base_status_version", 10**12, True), ("base_status_version", 7, False),
    ("amount_fen", INT64_MAX, False), ("amount_fen", INT64_MAX + 1, True), ("page", 10**30, True),
    ("flag", True, False),
    ("as_of", date(1900, 1, 1), False), ("as_of", date(1899, 12, 31), True), ("as_of", date(2199, 12, 31), False),
    ("as_of", date(2200, 1, 1), True), ("as_of", date(1, 1, 1), True), ("as_of", date(9999, 12, 31), True),
    ("captured_at", datetime(1, 1, 1, tzinfo=UTC), True), ("captured_at", datetime(9999, 12, 31, tzinfo=UTC), True),
    ("captured_at", datetime(2026, 11, 2, tzinfo=UTC), False),
    ("note", "x" * 10_000, False), ("note", "x" * 10_001, True),
])
def test_bound_table(name, value, refused):
    assert (bound_error(name, value) is not None) is refused


class Inner(BaseModel):
    day: date
    ids: list[int]


class Outer(BaseModel):
    raw_fields: ClassVar[frozenset[str]] = frozenset({"raw"})
    inner: list[Inner]
    raw: list  # raw items (a sync batch) are validated one by one later, not here


def test_check_bounds_walks_nested_models_but_not_raw_dicts():
    ok = Outer(inner=[Inner(day=date(2026, 1, 1), ids=[1])], raw=[{"x_id": HUGE}, HUGE, "x" * 20_000])
    assert check_bounds(ok) is ok
    bad = Outer(inner=[Inner(day=date(1, 1, 1), ids=[1, HUGE])], raw=[])
    with pytest.raises(ValidationFailed) as exc:
        check_bounds(bad)
    assert [f["field"] for f in exc.value.details["fields"]] == ["inner.0.day", "inner.0.ids.1"]


def test_path_params():
    check_path_params({"lease_id": 5, "code": "SZ-1"}, {"code": 40})
    with pytest.raises(ValidationFailed) as exc:
        check_path_params({"lease_id": HUGE, "code": "x" * 41}, {"code": 40})
    assert {f["field"] for f in exc.value.details["fields"]} == {"path.lease_id", "path.code"}


@pytest.mark.parametrize("path", [
    f"/api/v1/leases/{HUGE}", f"/api/v1/leases/{10**10}", f"/api/v1/devices/{HUGE}", f"/api/v1/alerts/{10**10}",
    f"/api/v1/status-reports/{10**10}", f"/api/v1/work-orders/{HUGE}", f"/api/v1/refunds/{10**10}",
    f"/api/v1/units/{LONG_CODE}", f"/api/v1/units/{LONG_CODE}/timeline", f"/api/v1/units/{'X' * 41}/readings",
])
async def test_path_values_out_of_range_are_422(client, world, path):
    _, response = await client.get(path, headers=world.auth(world.admin))
    fields = fields_of(response)
    assert len(fields) == 1 and next(iter(fields)).startswith("path.") and set(fields.values()) == {"out_of_range"}


@pytest.mark.parametrize("query", [
    f"/api/v1/status-reports?building_id={HUGE}", f"/api/v1/status-reports?building_id={10**10}",
    f"/api/v1/status-reports?unit_code={LONG_CODE}", f"/api/v1/work-orders?unit_code={LONG_CODE}",
    f"/api/v1/units?building={LONG_CODE}", f"/api/v1/alerts?building_id={HUGE}",
])
async def test_query_values_out_of_range_are_422(client, world, query):
    _, response = await client.get(query, headers=world.auth(world.admin))
    assert fields_of(response)


@pytest.mark.parametrize("as_of", ["0001-01-01", "9999-12-31"])
async def test_detect_as_of_outside_the_window(client, world, as_of):
    _, response = await client.post("/api/v1/admin/iot/detect", headers=world.auth(world.admin),
                                    content=json.dumps({"as_of": as_of}))
    assert fields_of(response) == {"as_of": "out_of_range"}


@pytest.mark.parametrize("version", [10**30, 10**12])
async def test_base_status_version_beyond_its_column(client, world, version):
    a = world.a
    reports = await StatusReport.all().count()
    body = report_body(a, world.now - timedelta(minutes=5), requested="OFF_MARKET", base_version=version)
    _, response = await client.post("/api/v1/status-reports", headers=world.auth(a.inspector),
                                    content=json.dumps(body))
    assert fields_of(response) == {"base_status_version": "out_of_range"}
    _, response = await client.post(f"/api/v1/units/{a.unit.code}/status", headers=world.auth(a.manager),
                                    content=json.dumps({"status": "OFF_MARKET", "reason": "x",
                                                        "base_status_version": version}))
    assert fields_of(response) == {"base_status_version": "out_of_range"}
    assert await StatusReport.all().count() == reports
    assert (await Unit.get(id=a.unit.id)).status_version == a.unit.status_version


@pytest.mark.parametrize("year", [1, 9999])
async def test_captured_at_in_year_1_or_9999(client, world, year):
    a = world.a
    body = report_body(a, datetime(year, 6, 1, tzinfo=UTC))
    _, response = await client.post("/api/v1/status-reports", headers=world.auth(a.inspector),
                                    content=json.dumps(body))
    assert fields_of(response) == {"location.captured_at": "out_of_range"}


async def test_lease_dates_outside_the_window(client, world):
    a = world.a
    body = {"unit_code": a.unit.code, "tenant_name": "张三", "start_date": "0001-01-01", "end_date": "9999-12-31",
            "monthly_rent_fen": 100_000, "deposit_fen": 200_000}
    _, response = await client.post("/api/v1/leases", headers=world.auth(a.manager), content=json.dumps(body))
    assert fields_of(response) == {"start_date": "out_of_range", "end_date": "out_of_range"}
    assert await Lease.filter(unit_id=a.unit.id).count() == 0
