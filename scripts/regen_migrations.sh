#!/usr/bin/env bash
# Pre-release: the schema is one initial migration, regenerated from models/ whenever models change; the
# hand-written migrations after it (0002_change_triggers: the cache triggers) are kept and depend on it.
# (After the first production deploy, switch to additive `rentwatch makemigrations` instead.)
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'for f in "$tmp"/keep/*.py; do [ -e "$f" ] && mv "$f" models/migrations/; done; rm -rf "$tmp"' EXIT
mkdir "$tmp/keep"
for f in models/migrations/0*.py; do
  case "$f" in */0001_initial.py) ;; *) mv "$f" "$tmp/keep/" ;; esac
done
rm -f models/migrations/0001_initial.py
RW_VAR_DIR="$tmp" rentwatch makemigrations --name initial 2>&1 | grep -v " INFO " || true
for f in "$tmp"/keep/*.py; do mv "$f" models/migrations/; done
RW_VAR_DIR="$tmp" rentwatch migrate 2>&1 | grep -E "apply_done|Error|error" || true
