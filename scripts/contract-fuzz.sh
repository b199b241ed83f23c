#!/usr/bin/env bash
# `make contract-fuzz` (and the last step of `make test`): schemathesis, from PyPI,
# against the running service's /openapi.json with every check it has, including
# a stateful run that follows the spec's links (register -> login -> refresh ->
# logout, admin user -> get/update/logout/delete). Zero failures or it exits 1.
#
# One run per backend, each against a fresh database and a freshly started debug
# build, and each with one of the two REQUIRE_EMAIL_VERIFICATION settings so that
# both shapes of POST /register are held to the spec:
#   - SQLite, verification off: register answers 201 with tokens, so the stateful
#     run can log in, refresh and log out with the accounts it creates;
#   - PostgreSQL, verification on (the default): register answers 202. Needs a
#     server: CONTRACT_FUZZ_POSTGRES_URL, else TEST_DATABASE_URL, else the one on
#     127.0.0.1:5432; a database is created there and dropped afterwards. None
#     reachable: skipped with a warning (a failure with CI=true).
# Both runs turn rate limits off (RATE_LIMIT=off) so that the fuzzer's thousands of
# requests reach the handlers; the 429 answers are covered by the suite.
#
# Python: python3 with venv and pip. schemathesis and its dependencies are
# installed at the versions pinned in tests/contract/requirements.txt into a venv
# under target/ (reused while it matches). Missing Python: a warning saying what
# to install, or a failure with CI=true.
#
# Knobs: CONTRACT_FUZZ_SEED (default fixed), CONTRACT_FUZZ_EXAMPLES (per operation
# and phase, default 30), CONTRACT_FUZZ_BACKENDS ("sqlite postgres").
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
seed=${CONTRACT_FUZZ_SEED:-1127}
examples=${CONTRACT_FUZZ_EXAMPLES:-30}
backends=${CONTRACT_FUZZ_BACKENDS:-sqlite postgres}
work=$PWD/target/contract-fuzz
venv=$work/venv
requirements=tests/contract/requirements.txt

missing_tool() {
  if [[ ${CI:-} == true ]]; then
    echo "FATAL: CI=true and the contract fuzzing cannot run: $1" >&2
    exit 1
  fi
  printf '\n  WARNING: the contract fuzzing (schemathesis) was SKIPPED: %s\n\n' "$1" >&2
  exit 0
}

echo "== contract fuzzing (schemathesis)"
command -v python3 >/dev/null \
  || missing_tool "python3 is not installed (apt-get install python3 python3-venv / brew install python)"
# Debian ships venv and pip apart from python3 itself.
python3 -c 'import venv, ensurepip' 2>/dev/null \
  || missing_tool "python3 has no venv/ensurepip module (apt-get install python3-venv)"

# The venv is rebuilt whenever the pinned requirements change.
if ! cmp -s "$requirements" "$venv/requirements.txt" 2>/dev/null; then
  echo "installing schemathesis into $venv (pinned in $requirements)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements" || {
    echo "FATAL: pip could not install $requirements into $venv (is PyPI reachable?)" >&2
    exit 1
  }
  cp "$requirements" "$venv/requirements.txt"
fi
"$venv/bin/schemathesis" --version

echo "building the service"
$CARGO build --quiet --bin auth-service

free_port() {
  "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
secret() { "$venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(32))'; }

service_pid=
psql=
pg_server=
pg_db=
cleanup() {
  if [[ -n $service_pid ]]; then
    kill "$service_pid" 2>/dev/null || true
    wait "$service_pid" 2>/dev/null || true
  fi
  if [[ -n $pg_db ]]; then
    "$psql" "$pg_server" -qc "drop database if exists $pg_db with (force)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# Starts the service with the given extra environment, waits for /readyz, and
# creates the verified fuzz user through the admin API.
start_service() {
  local dir=$1
  shift
  port=$(free_port)
  base=http://127.0.0.1:$port
  export FUZZ_ADMIN_KEY FUZZ_SERVICE_KEY FUZZ_USER_EMAIL FUZZ_USER_PASSWORD
  FUZZ_ADMIN_KEY=$(secret)
  FUZZ_SERVICE_KEY=$(secret)
  FUZZ_USER_EMAIL=fuzz-user@example.com
  FUZZ_USER_PASSWORD="fuzz $(secret)"
  env PORT="$port" GRPC_PORT=off DATA_DIR="$dir" RATE_LIMIT=off RUST_LOG=warn \
    ADMIN_KEYS="$FUZZ_ADMIN_KEY" INTROSPECTION_KEYS="$FUZZ_SERVICE_KEY" "$@" \
    target/debug/auth-service >"$dir/service.log" 2>&1 &
  service_pid=$!
  "$venv/bin/python" - "$base" <<'PY'
import json, os, sys, time, urllib.request
base = sys.argv[1]
for _ in range(300):
    try:
        urllib.request.urlopen(base + "/readyz", timeout=1)
        break
    except Exception:
        time.sleep(0.1)
else:
    sys.exit("the service did not become ready within 30 s")
body = {"email": os.environ["FUZZ_USER_EMAIL"], "password": os.environ["FUZZ_USER_PASSWORD"],
        "email_verified": True}
request = urllib.request.Request(base + "/admin/users", data=json.dumps(body).encode(), headers={
    "content-type": "application/json", "authorization": "Bearer " + os.environ["FUZZ_ADMIN_KEY"]})
urllib.request.urlopen(request, timeout=30)
PY
}

stop_service() {
  kill "$service_pid"
  wait "$service_pid" 2>/dev/null || true
  service_pid=
}

failed=()
# The stateful phase of the full run picks among every link of the spec. This run
# follows only those of POST /register, /login, /refresh and /logout (valid data,
# up to 10 steps a scenario, new scenarios for 20 s: Hypothesis ends a suite after
# a dozen or so, and schemathesis starts another while time is left), and
# chain_check.py reads its HAR to make sure each hop of register -> login ->
# refresh -> logout was taken with the data of the one before. Needs registration
# to answer 201 (email verification off).
fuzz_auth_chain() {
  local dir=$work/$1
  echo "-- $1: the auth chain, stateful only"
  if ! HYPOTHESIS_STORAGE_DIRECTORY=$work/hypothesis \
    "$venv/bin/schemathesis" --config-file tests/contract/chain.toml \
    run "$base/openapi.json" --checks all --seed "$seed" --max-examples 150 \
    --phases stateful --mode positive --workers 1 --max-time 20 --output-sanitize false \
    --include-operation-id register --include-operation-id login \
    --include-operation-id refresh --include-operation-id logout \
    --report har,junit --report-dir "$dir/chain"; then
    failed+=("$1 (auth chain)")
  elif ! "$venv/bin/python" tests/contract/chain_check.py "$dir"/chain/har-*.json; then
    failed+=("$1 (auth chain not covered)")
  fi
}

fuzz() {
  local name=$1 dir=$work/$1
  echo "-- $name (seed $seed, $examples examples per operation and phase)"
  # One worker: with two, Python 3.11 can fail inside Hypothesis when both threads
  # parse source at once ("AST constructor recursion depth mismatch"), and the
  # order of requests, hence the run, would not follow from the seed alone.
  # The log shows a panic even if its 500 never reached the fuzzer.
  if ! HYPOTHESIS_STORAGE_DIRECTORY=$work/hypothesis \
    "$venv/bin/schemathesis" --config-file tests/contract/schemathesis.toml \
    run "$base/openapi.json" --checks all --seed "$seed" --max-examples "$examples" \
    --workers 1 --wait-for-schema 10 --report junit --report-dir "$dir"; then
    failed+=("$name")
  elif grep -q "panicked" "$dir/service.log"; then
    grep -n "panicked" "$dir/service.log" >&2
    failed+=("$name (a panic in the service log)")
  fi
}

for backend in $backends; do
  dir=$work/$backend
  rm -rf "$dir"
  mkdir -p "$dir"
  case $backend in
    sqlite)
      start_service "$dir" REQUIRE_EMAIL_VERIFICATION=false
      fuzz sqlite
      fuzz_auth_chain sqlite
      stop_service
      ;;
    postgres)
      pg_server=${CONTRACT_FUZZ_POSTGRES_URL:-${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}
      # psql: on PATH, or beside the initdb that scripts/test.sh may have used.
      psql=$(command -v psql || find /usr/lib/postgresql/*/bin -name psql 2>/dev/null | sort -V | tail -n 1 || true)
      if ! scripts/require-postgres.sh "$pg_server" "the contract fuzzing on PostgreSQL" 2>/dev/null \
        || [[ -z $psql ]]; then
        [[ ${CI:-} == true ]] && { echo "FATAL: CI=true and no PostgreSQL (or psql) for the contract fuzzing at $pg_server" >&2; exit 1; }
        echo "  WARNING: no PostgreSQL (or no psql) at $pg_server: the PostgreSQL run was SKIPPED" >&2
        continue
      fi
      pg_db=contract_fuzz_$$
      "$psql" "$pg_server" -qc "create database $pg_db" >/dev/null
      start_service "$dir" REQUIRE_EMAIL_VERIFICATION=true DATABASE_URL="${pg_server%/*}/$pg_db"
      fuzz postgres
      stop_service
      ;;
    *) echo "unknown backend in CONTRACT_FUZZ_BACKENDS: $backend" >&2; exit 2 ;;
  esac
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "contract fuzzing FAILED: ${failed[*]} (service logs and JUnit reports in $work)" >&2
  exit 1
fi
echo "contract fuzzing passed: $backends"
