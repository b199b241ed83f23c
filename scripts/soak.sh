#!/usr/bin/env bash
# make soak: the service under a mixed workload for SOAK_DURATION (default 5m)
# on each database of SOAK_DATABASE (sqlite, postgres or both; default sqlite),
# with RATE_LIMIT=off and REQUIRE_EMAIL_VERIFICATION=true, its mail going to a
# real SMTP server inside the soak (auth-bench soak, bench/src/soak/). Each of
# SOAK_USERS (16) virtual users goes round: register, wait for the verification
# mail, verify with its token, login, refresh and GET /me SOAK_REPEAT (5) times
# each, logout. Fails (exit 1) on any 5xx or other unexpected answer, on any
# lost or duplicated mail, or on RSS growth over SOAK_RSS_LIMIT (10) per cent
# after warm-up (the first fifth of the run); prints a short report.
#   make soak                                        # 5 minutes on SQLite
#   SOAK_DATABASE=both make soak                     # 5 minutes on each
#   SOAK_DURATION=45s SOAK_PROFILE=debug make soak   # CI's short form
# SOAK_PROFILE=debug soaks the debug build instead of the release one: CI has
# just built the service in debug for its tests (argon2 and the signature
# crates are optimised in debug too), while a release build would cost it
# several minutes more.
# PostgreSQL: a fresh database on SOAK_POSTGRES_URL's server (default the local
# one, user postgres), dropped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
profile=${SOAK_PROFILE:-release}
export SOAK_DURATION=${SOAK_DURATION:-5m}

case $profile in
  release) build=(--release) ;;
  debug) build=() ;;
  *) echo "SOAK_PROFILE is release or debug, not '$profile'" >&2; exit 2 ;;
esac
echo "building the service and the soak ($profile) …" >&2
$CARGO build "${build[@]}" --quiet -p auth-service --bin auth-service -p auth-bench --bin auth-bench

args=(soak --service "target/$profile/auth-service")
database=${SOAK_DATABASE:-sqlite}
# `;;&` goes on matching: both takes the first two branches.
case $database in
  sqlite | both) args+=(--sqlite) ;;&
  postgres | both)
    server=${SOAK_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
    scripts/require-postgres.sh "$server" "make soak on PostgreSQL"
    db=auth_soak_$$
    psql "$server" -qc "create database $db" >/dev/null
    trap 'psql "$server" -qc "drop database if exists $db with (force)" >/dev/null 2>&1 || true' EXIT
    args+=(--postgres "${server%/*}/$db")
    ;;
  sqlite) ;;
  *) echo "SOAK_DATABASE is sqlite, postgres or both, not '$database'" >&2; exit 2 ;;
esac

"target/$profile/auth-bench" "${args[@]}"
