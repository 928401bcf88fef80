"""The issue-5 jobs run once from the CLI against a fresh SQLite database (real processes, no mocks)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo


def rentwatch(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "RW_VAR_DIR": str(tmp_path), "RW_LOG_LEVEL": "WARNING"}
    env.pop("RW_DATABASE_URL", None)
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_reminders_escalate_and_outbox_send_run_once_from_the_cli(tmp_path, premigrated):
    premigrated(tmp_path)
    assert rentwatch(tmp_path, "migrate").returncode == 0
    seeded = rentwatch(tmp_path, "demo-seed")
    assert seeded.returncode == 0, seeded.stderr
    # the demo has leases ending in 25, 55 and 85 days: tiers 30, 60 and 90 are due today
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date()
    first = rentwatch(tmp_path, "reminders", "--as-of", today.isoformat())
    assert first.returncode == 0, first.stderr
    fired = [line for line in first.stdout.splitlines() if line.endswith("reminder fired")]
    assert fired and {line.split(": ")[1].split("-")[0] for line in fired} <= {"30", "60", "90"}
    second = rentwatch(tmp_path, "reminders", "--as-of", today.isoformat())
    assert "0 reminder(s) fired" in second.stdout
    later = rentwatch(tmp_path, "reminders", "--as-of", (today + timedelta(days=400)).isoformat())
    assert "0 reminder(s) fired" in later.stdout
    escalated = rentwatch(tmp_path, "escalate")
    assert escalated.returncode == 0 and set(json.loads(escalated.stdout)) == {"escalated", "auto_completed"}
    sent = rentwatch(tmp_path, "outbox-send")
    # demo users have no WeChat openid yet: reminders (and the demo refunds' messages) are marked undeliverable
    assert sent.returncode == 0 and sent.stdout.startswith("sent 0, "), sent.stdout
    undeliverable = int(re.search(r"undeliverable (\d+)", sent.stdout).group(1))
    assert undeliverable >= len(fired)
    assert "undeliverable 0" in rentwatch(tmp_path, "outbox-send").stdout  # nothing is retried
