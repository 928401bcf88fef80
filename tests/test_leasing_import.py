"""Importing historic contracts from .xlsx and .csv with Chinese headers: per-row reports, all or nothing unless
the good rows are asked for, idempotent re-import; and the ledger's data migration of existing tenants."""

import csv
import importlib
import io
import json
import subprocess
import sys
from datetime import datetime

from openpyxl import Workbook

from models.leasing import Lease, PartyMergeReview, Receivable, Tenant
from models.portfolio import Unit

HEADER = ["合同编号", "房源编号", "租户类型", "租户名称", "联系电话", "统一社会信用代码", "起租日", "到期日",
          "付款方式", "计租方式", "月租金(元)", "单价(元)", "押金(元)", "免租期", "递增", "其他费用", "状态"]


def rows_for(world):
    a = world.a.units
    return [
        ["HT-001", a[0].code, "个人", "陈一", "13500000001", "", datetime(2026, 1, 1), "2026-12-31", "两月一次",
         "月租金", "3,000.00", "", "6000", "", "", "网费:100:月付", "已签约"],
        ["HT-002", a[2].code, "企业", "南山咖啡", "075586001234", "91350100M000100Y43", "2026/02/01", "2029/01/31",
         "押一付三", "元/㎡/天", "", "4.5", "", "2026-02-01~2026-03-31", "自第2年起每年递增5%", "物业费:500:月付",
         "履约中"],
        ["HT-003", a[3].code, "个人", "王五", "13500000003", "", "2026-03-01", "2027-02-28", "两月一趟", "月租金",
         "2000", "", "4000", "", "", "", ""],
        ["HT-004", "SZ-NOPE-1", "个人", "赵六", "", "", "2026-03-01", "2025-02-28", "月付", "月租金", "abc", "", "",
         "", "", "", ""],
    ]


def xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["2026年历史合同导出"])  # a title line before the header row
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def upload(client, world, data, name, query=""):
    _, response = await client.post(f"/api/v1/leases/import{query}", headers=world.auth(world.a.finance),
                                    files={"file": (name, data, "application/octet-stream")})
    return response


async def test_dry_run_reports_every_bad_row_by_field_and_code(client, world):
    response = await upload(client, world, xlsx(rows_for(world)), "contracts.xlsx", "?dry_run=true")
    assert response.status == 200, response.json
    report = response.json
    assert report["rows"] == 4 and report["valid_rows"] == 2 and report["rejected_rows"] == [5, 6]
    codes = {(e["row"], e["field"], e["code"]) for e in report["errors"]}
    assert (5, "payment_frequency", "INVALID_FREQUENCY_CODE") in codes
    assert (6, "monthly_rent_fen", "INVALID_VALUE") in codes
    assert not report["applied"] and await Lease.filter(source="import").count() == 0


async def test_a_bad_row_imports_nothing_unless_the_good_rows_are_asked_for(client, world):
    data = xlsx(rows_for(world))
    refused = await upload(client, world, data, "contracts.xlsx")
    assert refused.status == 200 and refused.json["imported"] == 0
    assert await Lease.filter(source="import").count() == 0
    good = await upload(client, world, data, "contracts.xlsx", "?import_good_rows=true")
    assert good.status == 201 and good.json["imported"] == 2, good.json
    by_contract = {lease.contract_no: lease for lease in await Lease.filter(source="import")}
    assert by_contract["HT-001"].status == "SIGNED" and by_contract["HT-001"].payment_frequency == "BIMONTHLY"
    shop = by_contract["HT-002"]
    assert shop.status == "ACTIVE" and shop.payment_frequency == "QUARTERLY"
    assert shop.terms["deposit_months"] == "1" and shop.terms["escalations"][0]["percent"] == "5"
    assert (await Unit.get(id=shop.unit_id)).status == "OCCUPIED"
    assert await Receivable.filter(lease_id=shop.id, charge="CHARGE:物业费").count() == 36
    company = await Tenant.get(id=shop.tenant_id)
    assert (company.kind, company.uscc) == ("COMPANY", "91350100M000100Y43")
    again = await upload(client, world, data, "contracts.xlsx", "?import_good_rows=true")
    assert again.json["imported"] == 0 and again.json["unchanged_rows"] == [3, 4]
    assert await Lease.filter(source="import").count() == 2
    assert await Receivable.filter(lease__source="import").count() == await Receivable.filter(
        lease_id__in=[shop.id, by_contract["HT-001"].id]).count()


async def test_gbk_csv_and_a_contract_that_changed_is_not_silently_amended(client, world):
    def gbk_csv(rows):
        out = io.StringIO()
        csv.writer(out).writerows([HEADER, *rows])
        return out.getvalue().encode("gbk")

    row = [c.date().isoformat() if isinstance(c, datetime) else c for c in rows_for(world)[0]]
    first = await upload(client, world, gbk_csv([row]), "contracts.csv")
    assert first.status == 201 and first.json["imported"] == 1, first.json
    changed = [("3500" if c == "3,000.00" else c) for c in row]
    second = await upload(client, world, gbk_csv([changed]), "contracts.csv")
    assert [e["code"] for e in second.json["errors"]] == ["CONTRACT_EXISTS_DIFFERENT"]


async def test_a_file_without_the_required_columns_is_refused(client, world):
    response = await upload(client, world, "合同编号,租户\nX,Y\n".encode(), "x.csv")
    assert response.status == 400 and response.json["error"]["code"] == "UNREADABLE_FILE"
    assert "unit_code" in response.json["error"]["details"]["missing"]


def test_cli_import_dry_run_reports_rows(tmp_path, premigrated):
    premigrated(tmp_path)
    path = tmp_path / "contracts.csv"
    path.write_text("合同编号,房源编号,租户名称,起租日,到期日,付款方式,月租金,押金\nX-1,NOPE,甲,2026-01-01,2026-12-31,"
                    "月付,1000,0\n", encoding="utf-8")
    env = {"RW_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    migrate = subprocess.run([sys.executable, "-m", "cli.main", "migrate"], capture_output=True, text=True,
                             timeout=300, env=env)
    assert migrate.returncode == 0, migrate.stderr[-2000:]
    result = subprocess.run([sys.executable, "-m", "cli.main", "leases", "import", str(path), "--dry-run"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 1
    assert "row 2: unit_code: UNKNOWN_UNIT: unit NOPE not found" in result.stderr
    assert "1 rows: 0 valid, 1 rejected" in result.stdout


async def test_data_migration_merges_unambiguous_tenants_and_lists_the_rest(db):
    from tortoise.connection import get_connection

    migration = importlib.import_module("models.migrations.0005_leasing_parties_terms")
    same = [await Tenant.create(name="刘备", phone="139 0000 0001"), await Tenant.create(name="刘备",
                                                                                        phone="+8613900000001")]
    different = [await Tenant.create(name="关羽", phone="13900000002"), await Tenant.create(name="张飞",
                                                                                          phone="13900000002")]
    from tests.support.world import build_side

    side = await build_side("A", datetime(2026, 11, 2).astimezone())
    await Lease.filter(id=side.lease.id).update(tenant_id=same[1].id, terms={})
    client = get_connection("default")
    await migration.backfill_terms(client)
    await migration.merge_tenants(client)
    assert not await Tenant.filter(id=same[1].id).exists()
    assert (await Lease.get(id=side.lease.id)).tenant_id == same[0].id
    assert (await Tenant.get(id=same[0].id)).phone == "13900000001"
    assert await Tenant.filter(id__in=[t.id for t in different]).count() == 2
    review = await PartyMergeReview.get(phone="13900000002")
    assert review.tenant_ids == [t.id for t in different]
    terms = (await Lease.get(id=side.lease.id)).terms
    assert json.loads(json.dumps(terms))["frequency"] == "MONTHLY" and terms["monthly_rent_fen"] == 450000
