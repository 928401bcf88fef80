"""The monthly status-consistency audit finds every difference kind planted in the fixture portfolio, with the
right rates per building and city, stores it, compares it with the month before, and exports it as XLSX."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from occupancy.audit import UnitMonth, audit_view, export_pdf, export_xlsx, find_differences, generate_audit
from occupancy.choices import Difference
from occupancy.jobs import backfill, monthly_audit
from portfolio.choices import StatusSource, UnitStatus
from portfolio.service import change_unit_status
from tests.support.occupancy_portfolio import build_planted, plant_differences

NOW = datetime(2026, 11, 1, 20, 0, tzinfo=UTC)  # 04:00 on 11-02 in Shanghai
OCTOBER_END = [date(2026, 10, d) for d in (28, 29, 30, 31)]


@pytest.fixture
async def planted(db):
    p = await build_planted()
    await plant_differences(p)
    return p


S = UnitStatus
RULES = dict(pending_delivery_max_days=30, occupied_like_days=3)
RULE_CASES = [
    (UnitMonth(S.OCCUPIED, has_lease=False, first_rent_paid=False, occupied_without_lease_days=5),
     [Difference.OCCUPIED_WITHOUT_LEASE]),
    (UnitMonth(S.OCCUPIED, has_lease=True, first_rent_paid=False), []),
    (UnitMonth(S.VACANT, has_lease=True, first_rent_paid=True), [Difference.VACANT_BUT_RENT_PAID]),
    (UnitMonth(S.VACANT, has_lease=True, first_rent_paid=False), []),
    (UnitMonth(S.VACANT, has_lease=False, first_rent_paid=False, vacant_occupied_like_days=3),
     [Difference.VACANT_BUT_OCCUPIED_LIKE]),
    (UnitMonth(S.VACANT, has_lease=False, first_rent_paid=False, vacant_occupied_like_days=2), []),
    (UnitMonth(S.VACANT, has_lease=False, first_rent_paid=False, inspection_state="PENDING_CONFIRMATION",
               inspection_status="OCCUPIED"), [Difference.INSPECTION_CONTRADICTS]),
    (UnitMonth(S.VACANT, has_lease=False, first_rent_paid=False, inspection_state="REJECTED",
               inspection_status="OCCUPIED"), []),  # decided: no open contradiction
    (UnitMonth(S.VACANT, has_lease=False, first_rent_paid=False, inspection_state="ACCEPTED",
               inspection_status="VACANT"), []),
    (UnitMonth(S.PENDING_DELIVERY, has_lease=True, first_rent_paid=False, status_since=date(2026, 9, 30),
               as_of=date(2026, 10, 31)), [Difference.PENDING_DELIVERY_TOO_LONG]),
    (UnitMonth(S.PENDING_DELIVERY, has_lease=True, first_rent_paid=False, status_since=date(2026, 10, 1),
               as_of=date(2026, 10, 31)), []),  # exactly 30 days: not more than N
]


@pytest.mark.parametrize(("unit_month", "kinds"), RULE_CASES)
def test_difference_rules(unit_month, kinds):
    assert [f.kind for f in find_differences(unit_month, **RULES)] == kinds


async def test_audit_finds_every_planted_kind_with_rates(planted, settings):
    results = await backfill(settings, OCTOBER_END[0], OCTOBER_END[-1], NOW)
    assert all(r.state == "COMPLETE" for r in results)
    report = await generate_audit(settings, "2026-10", NOW)
    assert report.as_of == date(2026, 10, 31) and report.units == 16
    view = await audit_view("2026-10", None)
    found = {(f["unit_code"], f["kind"]) for f in view["findings"]}
    assert found == {("OC-A03", "PENDING_DELIVERY_TOO_LONG"), ("OC-B06", "OCCUPIED_WITHOUT_LEASE"),
                     ("OC-B07", "VACANT_BUT_RENT_PAID"), ("OC-B08", "VACANT_BUT_OCCUPIED_LIKE"),
                     ("OC-B09", "INSPECTION_CONTRADICTS")}
    assert {k: v["count"] for k, v in view["kinds"].items()} == {k: 1 for k in Difference}
    assert (view["units"], view["units_with_differences"], view["rate"]) == (16, 5, "0.3125")
    buildings = {b["name"]: (b["units"], b["units_with_differences"], b["rate"]) for b in view["buildings"]}
    assert buildings == {"南山A": (7, 1, "0.1429"), "滨江B": (9, 4, "0.4444")}
    assert {c["name"]: c["rate"] for c in view["cities"]} == {"深圳": "0.1429", "杭州": "0.4444"}
    b08 = next(f for f in view["findings"] if f["unit_code"] == "OC-B08")
    assert b08["days"] == 4 and "入住未登记" in b08["process_step"] and b08["action"]
    a03 = next(f for f in view["findings"] if f["unit_code"] == "OC-A03")
    assert a03["since"] == "2026-09-20" and a03["days"] == 41
    # scoped: building A's staff see A only
    scoped = await audit_view("2026-10", frozenset({planted.buildings["A"].id}))
    assert [f["unit_code"] for f in scoped["findings"]] == ["OC-A03"] and scoped["units"] == 7
    # XLSX: summary, per building, the unit list
    book = load_workbook(io.BytesIO(await export_xlsx("2026-10", None)))
    assert book.sheetnames == ["汇总", "楼宇", "城市", "明细"]
    detail = [row for row in book["明细"].iter_rows(min_row=2, values_only=True)]
    assert sorted(row[0] for row in detail) == ["OC-A03", "OC-B06", "OC-B07", "OC-B08", "OC-B09"]


async def test_monthly_job_stores_once_and_months_compare(planted, settings):
    await backfill(settings, OCTOBER_END[0], OCTOBER_END[-1], NOW)
    first = await monthly_audit(settings, NOW)
    assert first["ran"] and first["month"] == "2026-10" and first["findings"] == 5
    assert (await monthly_audit(settings, NOW))["reason"] == "2026-10 already audited"
    # in November the move-out of B06 is recorded: the next month's audit shows one difference fewer
    moved = datetime(2026, 11, 1, 1, 0, tzinfo=UTC)
    await change_unit_status(planted.units["B06"].id, UnitStatus.MOVE_OUT_PENDING, source=StatusSource.ADMIN,
                             now=moved, reason="退租登记")
    await backfill(settings, date(2026, 11, 1), date(2026, 11, 1), NOW + timedelta(days=1))
    await generate_audit(settings, "2026-11", NOW + timedelta(days=1))
    november = await audit_view("2026-11", None)
    assert november["previous"]["month"] == "2026-10"
    assert november["change"]["OCCUPIED_WITHOUT_LEASE"] == -1
    assert november["kinds"]["OCCUPIED_WITHOUT_LEASE"]["count"] == 0


async def test_printable_pdf_has_the_chinese_report(planted, settings):
    import pypdfium2

    await backfill(settings, OCTOBER_END[0], OCTOBER_END[-1], NOW)
    await generate_audit(settings, "2026-10", NOW)
    content = await export_pdf("2026-10", None)
    assert content.startswith(b"%PDF")
    document = pypdfium2.PdfDocument(content)
    assert len(document) >= 1
    width, height = document[0].get_size()
    assert round(width / 72 * 25.4) == 210 and round(height / 72 * 25.4) == 297  # A4
    page = document[0].render(scale=1).to_pil().convert("L")
    assert page.getextrema()[0] < 100  # text was drawn (a blank page is all white)
    # the same report drawn for a scoped reader is shorter: its rows are only their building's
    scoped = pypdfium2.PdfDocument(await export_pdf("2026-10", frozenset({planted.buildings["A"].id})))
    dark = sum(1 for p in document[0].render(scale=1).to_pil().convert("L").getdata() if p < 128)
    dark_scoped = sum(1 for p in scoped[0].render(scale=1).to_pil().convert("L").getdata() if p < 128)
    assert dark_scoped < dark
