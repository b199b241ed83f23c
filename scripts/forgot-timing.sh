#!/usr/bin/env bash
# Times POST /password/forgot for an address that has an account and for ones that
# do not, alternating, and prints the median and p90 of each in milliseconds: the
# two must not differ (no account enumeration through timing).
#
# Against a running service started with limits off, e.g.
#   RATE_LIMIT=off DATABASE_URL=postgres://postgres@127.0.0.1:5432/timing make run
#   scripts/forgot-timing.sh                 # BASE=http://localhost:8080 PAIRS=300
set -euo pipefail
base=${BASE:-http://localhost:8080}
pairs=${PAIRS:-300}
known="timing-$(date +%s)-$RANDOM@example.com"

post() {
  curl -s -o /dev/null -w '%{time_total}\n' -X POST "$base$1" \
    -H 'content-type: application/json' -d "$2"
}

status=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/register" \
  -H 'content-type: application/json' \
  -d "{\"email\":\"$known\",\"password\":\"correct horse battery staple\"}")
[[ $status == 20[12] ]] || { echo "registering $known answered $status" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in $(seq "$pairs"); do
  post /password/forgot "{\"email\":\"$known\"}" >>"$tmp/known"
  post /password/forgot "{\"email\":\"nobody-$i-$RANDOM@example.com\"}" >>"$tmp/unknown"
done

summary() {
  sort -n "$1" | awk '{ v[NR] = $1 * 1000 } END {
    printf "median %.2f ms  p90 %.2f ms  (n=%d)\n", v[int((NR + 1) / 2)], v[int(NR * 0.9)], NR }'
}
echo "existing account: $(summary "$tmp/known")"
echo "no account:       $(summary "$tmp/unknown")"
