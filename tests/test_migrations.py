"""The schema comes from Tortoise's own migrations: they apply on a fresh database and match the models."""

import os
import subprocess
import sys

import pytest

from tests.support.db import database_url_for_tests, on_postgres

pytestmark = pytest.mark.database


def run_cli(*args, env):
    return subprocess.run([sys.executable, "-m", "cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_migrations_apply_and_match_models(tmp_path):
    env = {**os.environ, "RW_VAR_DIR": str(tmp_path)}
    database = None
    if on_postgres():
        import uuid

        database = f"rwmig_{uuid.uuid4().hex[:8]}"
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c",
                        f"CREATE DATABASE {database}"], check=True, capture_output=True)
        env["RW_DATABASE_URL"] = database_url_for_tests().replace("rwtest_{}", database).replace("{}", database)
    try:
        applied = run_cli("migrate", env=env)
        assert applied.returncode == 0, applied.stderr[-2000:]
        assert "apply_done: models.0001_initial" in applied.stderr
        assert "apply_done: models.0002_change_triggers" in applied.stderr
        again = run_cli("migrate", env=env)
        assert again.returncode == 0 and "apply_done" not in again.stderr
        check = run_cli("makemigrations", "--check", env=env)
        assert check.returncode == 0, "models changed without a migration: run scripts/regen_migrations.sh"
        seeded = run_cli("demo-seed", env=env)
        assert seeded.returncode == 0, seeded.stderr[-2000:]
        assert "ADMIN" in seeded.stdout
        reseeded = run_cli("demo-seed", env=env)
        assert "demo data already present" in reseeded.stdout
        # migration 0002 installed the change-log triggers (core.changes): seeding units recorded them
        count_units = "SELECT count(*) FROM change_log WHERE kind = 'unit'"
        if database:
            out = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", database, "-tAc", count_units],
                                 check=True, capture_output=True, text=True).stdout
        else:
            import sqlite3

            with sqlite3.connect(tmp_path / "rentwatch.sqlite3") as conn:
                out = str(conn.execute(count_units).fetchone()[0])
        assert int(out.strip()) > 0
    finally:
        if database:
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-c",
                            f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"], capture_output=True)
