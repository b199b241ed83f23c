#!/usr/bin/env bash
# A real browser on /docs: headless Chromium (Debian's `chromium`, driven by
# playwright-core from tests/browser/) registers and logs in with Swagger UI's
# "Try it out", against the debug binary on a fresh SQLite database with default
# settings (email verification on: the test confirms the address with the link
# the service writes to its log). Fails on any request the pages make off this
# machine. Screenshots go to target/browser-artifacts/.
#
# Needs Node.js >= 20 with npm, and Chromium: installed with apt-get (as root)
# when missing. When they cannot be had, it says what is missing and skips, or
# fails with CI=true.
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}
target_dir=${CARGO_TARGET_DIR:-target}
artifacts=$PWD/$target_dir/browser-artifacts
[[ $target_dir == /* ]] && artifacts=$target_dir/browser-artifacts

reachable() { (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null; }

# Debian's chromium; never a browser download of Playwright's own (no network for it).
if [[ ! -x $CHROMIUM_PATH && $CHROMIUM_PATH == /usr/bin/chromium ]] \
  && command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
  echo "installing chromium (Debian package)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

missing=()
if ! command -v node >/dev/null; then
  missing+=("node (Node.js 20 or newer) is not installed")
elif (($(node -p 'process.versions.node.split(".")[0]') < 20)); then
  missing+=("node is $(node --version); playwright-core needs Node.js 20 or newer")
fi
command -v npm >/dev/null || missing+=("npm is not installed")
[[ -x $CHROMIUM_PATH ]] || missing+=("no Chromium at $CHROMIUM_PATH (apt-get install chromium, as root; or set CHROMIUM_PATH)")
if [[ ${#missing[@]} -gt 0 ]]; then
  if [[ ${CI:-} == true ]]; then
    printf 'FATAL: CI=true and the browser test cannot run:\n' >&2
    printf '  - %s\n' "${missing[@]}" >&2
    exit 1
  fi
  printf '\n  WARNING: the browser test on /docs was SKIPPED:\n' >&2
  printf '    - %s\n' "${missing[@]}" >&2
  printf '\n' >&2
  exit 0
fi

echo "building the debug binary"
"$CARGO" build --quiet --bin auth-service
binary=$target_dir/debug/auth-service

echo "npm ci in tests/browser"
(cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

work=$(mktemp -d "${TMPDIR:-/tmp}/auth-browser-test.XXXXXX")
service=
# shellcheck disable=SC2317 # run by the EXIT trap
stop_service() {
  if [[ -n $service ]] && kill -0 "$service" 2>/dev/null; then
    kill -TERM "$service"
    wait "$service" || true
  fi
  mkdir -p "$artifacts"
  [[ -f $work/service.log ]] && cp "$work/service.log" "$artifacts/service.log"
  rm -rf "$work"
}
trap stop_service EXIT

# A fixed free port rather than PORT=0, so that PUBLIC_URL, and so the link in the
# verification mail, carries the port the browser reaches.
port=
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 40000))
  reachable 127.0.0.1 "$candidate" || { port=$candidate; break; }
done
[[ -n $port ]] || { echo "FATAL: no free port found" >&2; exit 1; }

# A clean environment: nothing from the caller's shell (SMTP_URL, DATABASE_URL,
# REQUIRE_EMAIL_VERIFICATION...) changes what the test expects.
env -i PATH="$PATH" HOME="$work" \
  DATABASE_URL="sqlite://$work/auth.db" DATA_DIR="$work" \
  BIND_ADDR=127.0.0.1 PORT="$port" GRPC_PORT=off \
  LOG_FORMAT=json RUST_LOG=info MAIL_POLL_INTERVAL=250ms \
  "$binary" >"$work/service.log" 2>&1 &
service=$!

for _ in $(seq 1 120); do
  grep -q '"auth-service listening' "$work/service.log" && break
  kill -0 "$service" 2>/dev/null || break
  sleep 0.5
done
if ! grep -q '"auth-service listening' "$work/service.log"; then
  echo "FATAL: the service did not start listening; its log:" >&2
  cat "$work/service.log" >&2
  exit 1
fi
echo "service on http://localhost:$port (log: $artifacts/service.log once done)"

status=0
(
  cd tests/browser
  AUTH_BASE_URL="http://localhost:$port" AUTH_SERVICE_LOG="$work/service.log" \
    CHROMIUM_PATH="$CHROMIUM_PATH" BROWSER_ARTIFACTS="$artifacts" \
    node --test --test-timeout=120000 docs.test.mjs
) || status=$?
echo "browser test artifacts: $artifacts"
exit "$status"
