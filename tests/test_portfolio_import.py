import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.portfolio import Building, City, Unit
from portfolio.importer import read_rows, validate_rows

DATA = Path(__file__).parent / "data"


def test_validate_reports_every_broken_row():
    rows = read_rows((DATA / "portfolio_broken.csv").read_bytes(), "csv")
    valid, rejected = validate_rows(rows)
    assert [number for number, _ in valid] == [1]
    by_row = {r["row"]: {e["field"] for e in r["errors"]} for r in rejected}
    assert by_row[2] == {"property_type"}
    assert by_row[3] == {"lat", "area_m2"}
    assert by_row[4] == {"unit_code"}  # duplicate of row 1
    assert {"timezone", "unit_code", "compliant_rentable"} <= by_row[5]


async def test_broken_csv_imports_nothing(client, world):
    before = (await City.all().count(), await Building.all().count(), await Unit.all().count())
    _, response = await client.post("/api/v1/admin/portfolio/import", headers=world.auth(world.admin),
                                    content=(DATA / "portfolio_broken.csv").read_bytes())
    assert response.status == 422
    error = response.json["error"]
    assert error["code"] == "IMPORT_REJECTED" and error["details"]["applied"] is False
    assert [r["row"] for r in error["details"]["rejected"]] == [2, 3, 4, 5]
    after = (await City.all().count(), await Building.all().count(), await Unit.all().count())
    assert after == before


async def test_csv_import_creates_then_updates_without_touching_status(client, world):
    headers = world.auth(world.admin)
    _, response = await client.post("/api/v1/admin/portfolio/import", headers=headers,
                                    content=(DATA / "portfolio_ok.csv").read_bytes())
    assert response.status == 201, response.json
    assert response.json["created"] == {"cities": 0, "buildings": 2, "units": 3}
    shop = await Unit.get(code="SZ-NS-Y-S01")
    assert (str(shop.area_m2), shop.lat, shop.status, shop.compliant_rentable) == ("80.25", 22.5401, "VACANT", True)
    assert (await Unit.get(code="SZ-NS-X-0102")).status == "OFF_MARKET"
    await Unit.filter(code="SZ-NS-X-0101").update(status="RESERVED")
    _, again = await client.post("/api/v1/admin/portfolio/import", headers=headers,
                                 content=(DATA / "portfolio_ok.csv").read_bytes())
    assert again.json["created"]["units"] == 0 and again.json["updated"]["units"] == 3
    assert (await Unit.get(code="SZ-NS-X-0101")).status == "RESERVED"


async def test_json_import_and_dry_run(client, world):
    rows = [{"city_code": "GZ", "city_name": "广州", "building_code": "GZ-TH-1", "building_name": "天河1号",
             "lat": 23.13, "lng": 113.32, "unit_code": "GZ-TH-1-0801", "property_type": "OFFICE", "area_m2": 120}]
    headers = {**world.auth(world.admin), "content-type": "application/json"}
    _, dry = await client.post("/api/v1/admin/portfolio/import?dry_run=true", headers=headers,
                               content=json.dumps(rows))
    assert dry.status == 200 and dry.json["applied"] is False
    assert not await Unit.exists(code="GZ-TH-1-0801")
    _, real = await client.post("/api/v1/admin/portfolio/import", headers=headers, content=json.dumps({"rows": rows}))
    assert real.status == 201 and await Unit.exists(code="GZ-TH-1-0801")


@pytest.mark.parametrize("body,fmt,code", [
    (b"", "csv", "EMPTY_FILE"),
    (b"just,a,header\n", "csv", "UNREADABLE_FILE"),
    (b'{"rows": 5}', "json", "UNREADABLE_FILE"),
    (b"\xff\xfe\x00", "csv", "UNREADABLE_FILE"),
])
async def test_unreadable_files(client, world, body, fmt, code):
    _, response = await client.post(f"/api/v1/admin/portfolio/import?format={fmt}", headers=world.auth(world.admin),
                                    content=body)
    assert response.status == 400 and response.json["error"]["code"] == code


def test_cli_import_reports_rows_and_exit_codes(tmp_path, premigrated):
    premigrated(tmp_path)
    env = {**os.environ, "RW_VAR_DIR": str(tmp_path)}
    cli = [sys.executable, "-m", "cli.main"]
    subprocess.run([*cli, "migrate"], env=env, check=True, capture_output=True, timeout=120)
    bad = subprocess.run([*cli, "import-portfolio", str(DATA / "portfolio_broken.csv")], env=env,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 1
    assert "row 2 (SZ-NS-X-0102): property_type" in bad.stderr and "nothing was imported" in bad.stderr
    ok = subprocess.run([*cli, "import-portfolio", str(DATA / "portfolio_ok.csv")], env=env,
                        capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0, ok.stderr
    assert "imported 3 rows" in ok.stdout and "importing rows: 3/3 (100%)" in ok.stderr
