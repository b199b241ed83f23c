#!/usr/bin/env bash
# make bench: builds the service and the load generator in release, measures the
# service on SQLite and on PostgreSQL (32 connections, BENCH_DURATION per row,
# default 8s; BENCH_DURATION=3s for a smoke run), with the baselines and the
# libargon2 comparison in the same run, prints ONE table, then runs the criterion
# micro-benchmarks in quick mode (BENCH_MICRO=off skips them).
#   make bench                         # about 3 minutes
#   BENCH_DURATION=3s make bench       # about 1 minute
# PostgreSQL: a fresh database on BENCH_POSTGRES_URL's server (default the local
# one, user postgres), dropped afterwards; no server reachable: SQLite only.
# libargon2 comes from Python's argon2-cffi (`pip install argon2-cffi`); without
# it those rows say "not measured".
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
duration=${BENCH_DURATION:-8s}
export BENCH_DURATION=$duration

echo "building release binaries …" >&2
$CARGO build --release --quiet -p auth-service --bin auth-service -p auth-bench --bin auth-bench

args=(run --service target/release/auth-service --sqlite)

server=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
if scripts/require-postgres.sh "$server" "make bench (PostgreSQL rows)" 2>/dev/null; then
  db=auth_bench_$$
  psql "$server" -qc "create database $db" >/dev/null
  trap 'psql "$server" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true' EXIT
  args+=(--postgres "${server%/*}/$db")
else
  echo "no PostgreSQL at $server: SQLite rows only" >&2
fi

# humantime's "8s" / "2m" as seconds for the Python side.
case $duration in
  *ms) seconds=$(awk "BEGIN { print ${duration%ms} / 1000 }") ;;
  *s) seconds=${duration%s} ;;
  *m) seconds=$((${duration%m} * 60)) ;;
  *) seconds=$duration ;;
esac
if python3 -c 'import argon2' 2>/dev/null; then
  echo "  baseline: libargon2 (argon2-cffi) verify on all cores …" >&2
  read -r lib _ < <(python3 scripts/libargon2-rate.py 19456 2 1 "$seconds")
  read -r lib_fastapi _ < <(python3 scripts/libargon2-rate.py 65536 3 4 "$seconds")
  args+=(--libargon2 "$lib" --libargon2-fastapi "$lib_fastapi")
else
  echo "no argon2-cffi (pip install argon2-cffi): libargon2 not measured" >&2
fi

target/release/auth-bench "${args[@]}"

if [[ ${BENCH_MICRO:-on} != off ]]; then
  echo
  echo "micro-benchmarks (criterion, quick mode):"
  $CARGO bench --quiet -p auth-bench --bench primitives -- --quick 2>&1 \
    | grep -E '^[a-z].*|time:' | grep -v '^Benchmarking' || true
fi
