#!/usr/bin/env bash
# The pen-test of the hashing bound, repeatable: starts the service with one
# hashing slot of 256 MiB and a 1 s request timeout, sends 120 logins for unknown
# emails one every 80 ms (each gives up after 1 s, as the clients did), and prints
# the answers by status and the process's peak and final RSS. Before the bound,
# 76 hashes ran at once and RSS reached 19.7 GB.
#   scripts/hash-burst.sh                   # BIN=target/release/auth-service
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${BIN:-target/release/auth-service}
[[ -x $bin ]] || { echo "build it first: cargo build --release (or BIN=target/debug/auth-service)" >&2; exit 1; }
port=${PORT:-18181}
dir=$(mktemp -d)
RATE_LIMIT=off DATA_DIR="$dir" PORT=$port RUST_LOG=warn \
  MAX_CONCURRENT_HASHES=${SLOTS:-1} ARGON2_MEMORY_KIB=${MEMORY_KIB:-262144} REQUEST_TIMEOUT=1s \
  "$bin" >"$dir/server.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.2; done
rss() { awk -v k="$1" '$1 == k":" { print $2 / 1024 " MB" }' "/proc/$pid/status"; }
echo "idle RSS: $(rss VmRSS)"
for i in $(seq 1 "${REQUESTS:-120}"); do
  curl -s -o /dev/null -w '%{http_code}\n' --max-time 1 -X POST "http://127.0.0.1:$port/login" \
    -H 'content-type: application/json' \
    -d "{\"email\":\"nobody-$i@example.com\",\"password\":\"correct horse battery staple\"}" >>"$dir/codes" &
  sleep 0.08
done
wait $(jobs -p | grep -v "^$pid$") 2>/dev/null || true
sleep 2
echo "answers (000 = the client gave up after 1 s):"
sort "$dir/codes" | uniq -c
echo "peak RSS: $(rss VmHWM)   RSS after the burst: $(rss VmRSS)"
