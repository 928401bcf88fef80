#!/usr/bin/env bash
# Pre-release: the schema is one initial migration, regenerated from models/ whenever models change.
# (After the first production deploy, switch to additive `rentwatch makemigrations` instead.)
set -euo pipefail
cd "$(dirname "$0")/.."
rm -f models/migrations/0001_initial.py
tmp=$(mktemp -d)
RW_VAR_DIR="$tmp" rentwatch makemigrations --name initial 2>&1 | grep -v " INFO " || true
RW_VAR_DIR="$tmp" rentwatch migrate 2>&1 | grep -E "apply_done|Error|error" || true
rm -rf "$tmp"
