#!/usr/bin/env bash
# Runs every benchmark under bench/. They print figures and ratios; they are not tests and never fail on speed.
set -u
cd "$(dirname "$0")/.."
for script in bench/*_bench.py; do  # bench/bench_support.py is what they share
  echo "==> $script"
  python "$script" || echo "!! $script failed"
done
