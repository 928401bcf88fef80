"""The CLI on a fresh database: the demo portfolio's figures differ visibly, a day is snapshotted on demand at an
injected time, and the month's audit prints and exports."""

import os
import sqlite3
import subprocess
import sys

from openpyxl import load_workbook


def run_cli(*args, env):
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_demo_figures_differ_and_audit_exports(tmp_path, premigrated):
    premigrated(tmp_path)
    env = {**os.environ, "RW_VAR_DIR": str(tmp_path), "RW_LOG_LEVEL": "WARNING"}
    env.pop("RW_DATABASE_URL", None)
    assert run_cli("migrate", env=env).returncode == 0
    seeded = run_cli("demo-seed", env=env)
    assert seeded.returncode == 0, seeded.stderr[-2000:]
    assert "occupancy: 35 of 35 past days snapshotted" in seeded.stdout
    shown = run_cli("occupancy", "--json", env=env)
    assert shown.returncode == 0, shown.stderr[-2000:]
    import json

    report = json.loads(shown.stdout)
    rates = {f["code"]: f["rate"] for f in report["total"]["figures"]}
    assert len(set(rates.values())) == 5, rates  # five definitions, five different numbers
    assert report["total"]["explained"]["excluded_by_kind"] == {
        "TRIAL_STAY": 1, "INTERNAL_USE": 1, "PARTNERSHIP_SWAP": 1, "NON_COMPLIANT": 1}
    # an injected clock: a day that has not ended at --now is refused
    future = run_cli("occupancy", "--as-of", "2030-01-01", "--now", "2029-12-31T12:00:00+08:00", env=env)
    assert future.returncode == 2 and "has not ended" in future.stderr
    month = report["period"]["day"][:7]
    out = tmp_path / "audit.xlsx"
    audit = run_cli("audit", "--month", month, "--xlsx", str(out), "--pdf", str(tmp_path / "audit.pdf"), env=env)
    assert audit.returncode == 0, audit.stderr[-2000:]
    assert "资产状态一致性审计报告" in audit.stdout and "VACANT_BUT_OCCUPIED_LIKE" in audit.stdout
    assert load_workbook(out).sheetnames == ["汇总", "楼宇", "城市", "明细"]
    assert (tmp_path / "audit.pdf").read_bytes().startswith(b"%PDF")
    # both exports are in the audit log as the API's are, by the system (the CLI is no user)
    with sqlite3.connect(tmp_path / "rentwatch.sqlite3") as conn:
        exports = conn.execute("SELECT actor_id, actor_role, target_type, target_id, details FROM audit_events "
                               "WHERE action = 'export' ORDER BY id").fetchall()
    assert [row[:4] for row in exports] == [(None, "SYSTEM", "occupancy_audit", month)] * 2
    assert [json.loads(row[4]) for row in exports] == [{"format": fmt, "building_ids": None} for fmt in ("xlsx", "pdf")]
    bad = run_cli("audit", "--month", "2026-13", env=env)
    assert bad.returncode == 2 and "INVALID_MONTH" in bad.stderr
