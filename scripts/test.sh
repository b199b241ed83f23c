#!/usr/bin/env bash
# `make test`: unit tests, then the integration suite once per database backend.
#
# SQLite needs nothing. For PostgreSQL, in order:
#   1. TEST_DATABASE_URL when set (it must be reachable);
#   2. a server on 127.0.0.1:5432 (user postgres, trust auth);
#   3. a throwaway cluster started here with initdb/pg_ctl on a free port in a
#      temporary folder, stopped and deleted afterwards;
#   4. otherwise the PostgreSQL half is skipped with a clear warning, except with
#      CI=true, where PostgreSQL is mandatory and its absence fails the run.
#
# The rate-limit tests that need Redis use TEST_REDIS_URL (set here to the server
# on 127.0.0.1:6379 when one answers) and start private redis-server processes.
# Without either, they are skipped with a warning, repeated at the end; with
# CI=true that is a failure here, and the tests themselves fail too.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}

reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

echo "== Redis (rate-limit tests)"
redis_missing=()
if [[ -n ${TEST_REDIS_URL:-} ]]; then
  echo "using TEST_REDIS_URL"
elif reachable 127.0.0.1 6379; then
  export TEST_REDIS_URL="redis://127.0.0.1:6379"
  echo "using the server on 127.0.0.1:6379"
else
  redis_missing+=("no Redis answers on 127.0.0.1:6379 and TEST_REDIS_URL is unset")
fi
if [[ -z ${TEST_REDIS_SERVER:-} ]] && ! command -v redis-server >/dev/null; then
  redis_missing+=("redis-server is not installed (the outage test starts its own)")
fi
redis_warning() {
  [[ ${#redis_missing[@]} -eq 0 ]] && return 0
  printf '\n  WARNING: the Redis rate-limit tests were SKIPPED:\n' >&2
  printf '    - %s\n' "${redis_missing[@]}" >&2
  cat >&2 <<'MSG'
  To run them, install Redis (apt-get install redis-server / brew install redis) and
  start it (redis-server --daemonize yes --save '' --appendonly no), or point at one:
  TEST_REDIS_URL=redis://host:6379 make test

MSG
}
if [[ ${#redis_missing[@]} -gt 0 ]]; then
  if [[ ${CI:-} == true ]]; then
    printf 'FATAL: CI=true and the Redis tests cannot run:\n' >&2
    printf '  - %s\n' "${redis_missing[@]}" >&2
    exit 1
  fi
  redis_warning
fi

echo "== unit tests and the integration suite on SQLite"
TEST_BACKEND=sqlite "$CARGO" test --all-targets

# --- browser test on /docs (scripts/browser-test.sh) ---
# Headless Chromium uses Swagger UI's "Try it out" on /register and /login. Here,
# before the PostgreSQL half, so that a run without PostgreSQL still gets it. It
# installs Chromium when it can; without Node.js/npm/Chromium it says what is
# missing and skips, or fails with CI=true.
echo "== the browser test on /docs"
CARGO=$CARGO scripts/browser-test.sh
# --- end of the browser test ---

pg_bin_dir() {
  if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(command -v initdb)"
    return
  fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin /usr/local/opt/postgresql*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  [[ -n $dir && -x $dir/initdb && -x $dir/pg_ctl ]] && echo "$dir"
}

start_throwaway_cluster() {
  local bin=$1 port tmp as=()
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    reachable 127.0.0.1 "$port" || break
  done
  tmp=$(mktemp -d "${TMPDIR:-/tmp}/auth-test-pg.XXXXXX")
  # PostgreSQL refuses to run as root: use the postgres system user then.
  if [[ $(id -u) == 0 ]]; then
    if ! id postgres >/dev/null 2>&1; then
      echo "FATAL: running as root and there is no 'postgres' user to run a throwaway cluster" >&2
      return 1
    fi
    chown postgres "$tmp"
    as=(runuser -u postgres --)
  fi
  echo "starting a throwaway PostgreSQL ($bin) on 127.0.0.1:$port in $tmp"
  "${as[@]}" "$bin/initdb" -D "$tmp/data" -U postgres --auth=trust -E UTF8 --no-sync >"$tmp/initdb.log" 2>&1 \
    || { cat "$tmp/initdb.log" >&2; return 1; }
  "${as[@]}" "$bin/pg_ctl" -D "$tmp/data" -l "$tmp/server.log" -w -t 60 \
    -o "-p $port -k $tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$tmp/server.log" >&2; return 1; }
  # Expanded now: the function's locals are gone when the trap runs.
  trap "$(printf '%q ' "${as[@]}" "$bin/pg_ctl" -D "$tmp/data" -m immediate stop) >/dev/null 2>&1 || true; rm -rf $(printf '%q' "$tmp")" EXIT
  TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
}

# The PostgreSQL outage test stops and starts a cluster of its own: it needs the
# server programs even when a server is already running.
pg_outage_warning() {
  [[ -n ${TEST_PG_BIN:-} ]] && return 0
  cat >&2 <<'MSG'

  WARNING: the PostgreSQL outage test was SKIPPED: initdb/pg_ctl are not installed
  (it starts, stops and restarts a cluster of its own). Install them with
  apt-get install postgresql (or brew install postgresql), or set TEST_PG_BIN.

MSG
}
if [[ -z ${TEST_PG_BIN:-} ]] && bin=$(pg_bin_dir); then
  export TEST_PG_BIN=$bin
fi

echo "== the integration suite on PostgreSQL"
if [[ -n ${TEST_DATABASE_URL:-} ]]; then
  echo "using TEST_DATABASE_URL"
elif reachable 127.0.0.1 5432; then
  TEST_DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres"
  echo "using the server on 127.0.0.1:5432"
elif [[ -n ${TEST_PG_BIN:-} ]]; then
  start_throwaway_cluster "$TEST_PG_BIN"
else
  if [[ ${CI:-} == true ]]; then
    echo "FATAL: CI=true and no PostgreSQL: none on 127.0.0.1:5432, no TEST_DATABASE_URL, no initdb/pg_ctl." >&2
    exit 1
  fi
  cat >&2 <<'MSG'

  WARNING: the PostgreSQL half of the integration suite was NOT run.
  No server answers on 127.0.0.1:5432, TEST_DATABASE_URL is unset, and initdb/pg_ctl
  are not installed to start a throwaway one. To run it, either
    - install PostgreSQL (apt-get install postgresql / brew install postgresql), or
    - point at a server: TEST_DATABASE_URL=postgres://user:pass@host:5432/postgres make test
  (the user needs the right to create databases).

MSG
  redis_warning
  exit 0
fi
if [[ -z ${TEST_PG_BIN:-} && ${CI:-} == true ]]; then
  echo "FATAL: CI=true and initdb/pg_ctl are missing: the PostgreSQL outage test cannot run." >&2
  exit 1
fi
export TEST_DATABASE_URL
TEST_BACKEND=postgres "$CARGO" test --test api
redis_warning
pg_outage_warning
