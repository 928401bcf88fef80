"""The CLI on a fresh demo database: the monthly 《租约健康度报告》 shows leases at every level and exports XLSX;
the daily run at an injected --now raises the actions; a bad month is refused; the demo's tenant profiles cover
every renewal recommendation."""

import json
import os
import sqlite3
import subprocess
import sys

from openpyxl import load_workbook


def run_cli(*args, env):
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_demo_report_has_every_level_and_exports(tmp_path, premigrated):
    premigrated(tmp_path)
    env = {**os.environ, "RW_VAR_DIR": str(tmp_path), "RW_LOG_LEVEL": "WARNING"}
    env.pop("RW_DATABASE_URL", None)
    assert run_cli("migrate", env=env).returncode == 0
    seeded = run_cli("demo-seed", env=env)
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    assert "lease health:" in seeded.stdout
    from datetime import UTC, datetime, timedelta

    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    month = later[:7]
    out = tmp_path / "health.xlsx"
    shown = run_cli("lease-health", "report", "--month", month, "--json", "--xlsx", str(out), "--now", later, env=env)
    assert shown.returncode == 0, shown.stderr[-2000:]
    report = json.loads(shown.stdout.splitlines()[0])
    assert all(report["levels"][level] >= 1 for level in ("GREEN", "YELLOW", "ORANGE", "RED")), report["levels"]
    assert load_workbook(out).sheetnames == ["汇总", "楼宇", "城市", "明细"]
    # the export is in the audit log as the API's export of the report is, by the system (the CLI is no user)
    with sqlite3.connect(tmp_path / "rentwatch.sqlite3") as conn:
        exports = conn.execute("SELECT actor_id, actor_role, actor_name, target_type, target_id, details "
                               "FROM audit_events WHERE action = 'export'").fetchall()
    assert [row[:5] for row in exports] == [(None, "SYSTEM", "system", "lease_health_report", month)]
    assert json.loads(exports[0][5]) == {"format": "xlsx", "building_ids": None}
    ran = run_cli("lease-health", "run", "--now", later, env=env)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert json.loads(ran.stdout)["raised"] >= 3
    again = run_cli("lease-health", "run", "--now", later, env=env)
    assert json.loads(again.stdout)["raised"] == 0
    bad = run_cli("lease-health", "report", "--month", "2026-13", env=env)
    assert bad.returncode == 2 and "INVALID_MONTH" in bad.stderr
    # the demo's tenant profiles: every recommendation, each printed with its reasons
    assert "tenant profiles:" in seeded.stdout
    profiles = run_cli("lease-health", "profiles", "--now", later, env=env)
    assert profiles.returncode == 0, profiles.stderr[-2000:]
    lines = profiles.stdout.splitlines()
    summary = json.loads(lines[0])
    assert all(summary["recommendations"][r] >= 1 for r in ("ELIGIBLE", "REVIEW", "NOT_RECOMMENDED")), summary
    assert any("失约租户 需复核(70分" in line and "违约付款承诺3次" in line for line in lines[1:])
    assert any("准时租户 建议续约(100分" in line for line in lines[1:])
    assert any("不建议续约" in line and "按时付款率" in line for line in lines[1:])
