"""``rentwatch serve`` as an operator runs it: a real process (its own process group, SQLite in a temporary var
dir, the embedded broker on a free port, the background process), stopped the way systemd and Docker stop it
(SIGTERM to the whole group). It must exit 0 within a bound and print no traceback; its log has one line per
event in one format, an access line per request and a banner that names the dev mode."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import free_port

#: The one log format (cli.main, cli.server, cli.background): ``2026-12-03 07:32:13,982 INFO rentwatch: ...``.
LOG_LINE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: \S")
#: What ``migrate`` prints while it applies migrations (none here: the database is already migrated).
MIGRATE_LINE = re.compile(r"  apply_(start|done): \S+")
#: An enum's repr in a message (``<IotAlert.UNEXPECTED_ACTIVITY: 'UNEXPECTED_ACTIVITY'>``): values are logged.
ENUM_REPR = re.compile(r"<\w+\.\w+: ")
START_BOUND_SECONDS = 180  # the first start on a loaded machine builds the app in every worker
STOP_BOUND_SECONDS = 60


def get(url: str, request_id: str = "") -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"X-Request-Id": request_id} if request_id else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_healthy(base: str, proc: subprocess.Popen, err_path: Path, workers: int) -> None:
    """Healthy, and every worker ready: Sanic ignores stop signals in a worker still starting (see the notes)."""
    deadline = time.monotonic() + START_BOUND_SECONDS
    last: object = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"serve exited early with {proc.returncode}: {err_path.read_text()[-3000:]}"
        try:
            status, last = get(f"{base}/api/v1/health")
            if status == 200 and err_path.read_text().count("Worker ready") >= workers:
                return
        except (OSError, ValueError) as exc:
            last = exc
        time.sleep(0.5)
    raise AssertionError(f"serve not healthy within {START_BOUND_SECONDS} s: {last}\n{err_path.read_text()[-3000:]}")


@pytest.mark.parametrize(("workers", "simulate"), [(1, False), (2, False), (1, True)])
def test_serve_stops_cleanly_on_sigterm_to_its_process_group(tmp_path: Path, premigrated, workers, simulate):
    """With the demo simulator on and nothing to simulate (no demo seed), the simulator ends at once: the other
    background services run on (healthy), and the stop does not hang."""
    var_dir = premigrated(tmp_path / "var")
    port, broker_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("RW_")}
    env.update({"RW_VAR_DIR": str(var_dir), "RW_PORT": str(port), "RW_EMBEDDED_MQTT_PORT": str(broker_port),
                "RW_WORKERS": str(workers), "RW_MODE": "dev", "PYTHONUNBUFFERED": "1",
                "RW_IOT_SIMULATE": "1" if simulate else "0"})
    base = f"http://127.0.0.1:{port}"
    out_path, err_path = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "serve"], env=env, stdout=out, stderr=err,
                                cwd=tmp_path, start_new_session=True)
        try:
            wait_healthy(base, proc, err_path, workers)
            status, body = get(f"{base}/api/v1/units/SZ-NOPE-0000", request_id="probe-401")
            assert (status, body["error"]["code"], body["error"]["details"]["request_id"]) == (
                401, "AUTH_REQUIRED", "probe-401")
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                code = proc.wait(timeout=STOP_BOUND_SECONDS)
            except subprocess.TimeoutExpired:
                log = err_path.read_text()[-3000:]
                raise AssertionError(f"not stopped within {STOP_BOUND_SECONDS} s: {log}") from None
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    stdout, stderr = out_path.read_text(), err_path.read_text()
    log = stdout + stderr
    assert code == 0, log[-3000:]
    assert "Traceback" not in log, log
    lines = [line for line in log.splitlines() if line.strip()]
    assert [line for line in lines if not (LOG_LINE.match(line) or MIGRATE_LINE.match(line))] == []
    # One line per event: the probe request is one access line (not also Sanic's, not twice in two formats).
    probe = [line for line in lines if "probe-401" in line]
    assert len(probe) == 1 and '"status": 401' in probe[0] and "rentwatch.requests" in probe[0], probe
    banner = [line for line in lines if "rentwatch serving" in line]
    assert len(banner) == 1 and "mode: dev" in banner[0] and f"{workers} worker(s)" in banner[0], banner
    assert "mode: production" not in log
    assert not ENUM_REPR.search(log), ENUM_REPR.findall(log)
    assert "Server Stopped" in log
    assert "background services still running" not in log and "did not finish within" not in log
    if simulate:
        assert "no scenario units" in log
