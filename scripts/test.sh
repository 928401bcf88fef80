#!/usr/bin/env bash
# Every test: lint, type check, the Python suite on SQLite, the tests that touch the database again on PostgreSQL
# (a test that never reaches the database gives the same answer on both: tests/conftest.py), the mini program's
# Node tests.
# A pass that cannot run here is announced loudly as SKIPPED, never silently dropped.
set -u
cd "$(dirname "$0")/.."
status=0
skipped=()
# One pytest worker per core (pytest-xdist; RW_TEST_WORKERS=1 runs one process). worksteal: the few long tests
# (CLI subprocesses, OCR, browsers) do not leave one worker idle at the end.
workers="${RW_TEST_WORKERS:-$(nproc 2>/dev/null || echo 2)}"
parallel=()
[ "$workers" -gt 1 ] 2>/dev/null && parallel=(-n "$workers" --dist worksteal)
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && exec 3>&-; }

bash scripts/wait_for_services.sh

if port_open 1883; then export RW_TEST_MQTT_URL="${RW_TEST_MQTT_URL:-mqtt://127.0.0.1:1883}"; fi

if ! command -v chromium >/dev/null 2>&1 && [ -z "${RW_CHROMIUM:-}" ]; then
  skipped+=("console browser tests (Debian's chromium is not installed and could not be installed: run as root)")
fi

echo "==> ruff"
ruff check . || status=1

echo "==> mypy"
mypy || status=1

echo "==> pytest on SQLite"
RW_TEST_DATABASE_URL="sqlite://:memory:" python -m pytest -q -rs -p no:cacheprovider "${parallel[@]+"${parallel[@]}"}" "$@" || status=1

if port_open 5432; then
  echo "==> pytest on PostgreSQL (127.0.0.1:5432): the tests that touch the database"
  RW_TEST_DATABASE_ONLY=1 RW_TEST_DATABASE_URL="${RW_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/rwtest_{}}" \
    python -m pytest -q -rs -p no:cacheprovider "${parallel[@]+"${parallel[@]}"}" "$@" || status=1
else
  skipped+=("PostgreSQL pass (no server on 127.0.0.1:5432 and none could be started)")
fi

if [ -f miniprogram/package.json ] || [ -d miniprogram/tests ]; then
  if command -v node >/dev/null 2>&1; then
    echo "==> node --test (mini program)"
    if [ -f miniprogram/package-lock.json ]; then  # test-only tools (miniprogram-simulate, jsdom), pinned by the lock
      (cd miniprogram && npm ci --no-audit --no-fund --loglevel=error) || status=1
    fi
    migrated="$(mktemp -d)"  # one migrated SQLite database the servers of the Node tests start from
    if RW_VAR_DIR="$migrated" RW_DATABASE_URL="" rentwatch migrate >/dev/null 2>&1; then
      export RW_NODE_MIGRATED_DB="$migrated/rentwatch.sqlite3"
    fi
    # one test file per core at a time (node's default on two cores is one): most of them wait on a server
    (cd miniprogram && node --test --test-concurrency="$workers" tests/*.test.js) || status=1
    rm -rf "$migrated"
  else
    skipped+=("mini program Node tests (node not installed)")
  fi
fi

for s in "${skipped[@]+"${skipped[@]}"}"; do
  echo "!!!!!!!! SKIPPED: $s !!!!!!!!" >&2
done
[ "$status" = 0 ] && echo "==> all test passes green" || echo "==> FAILURES above" >&2
exit "$status"
