#!/usr/bin/env bash
# Checks that the PostgreSQL server named by a URL accepts TCP connections, and
# says exactly what to do when it does not. Usage: require-postgres.sh URL PURPOSE
set -euo pipefail
url=${1:?usage: require-postgres.sh URL PURPOSE}
purpose=${2:-the service}

# postgres://user:pass@host:port/db?x -> host and port (defaults: localhost, 5432).
rest=${url#*://}
rest=${rest%%/*}
rest=${rest##*@}
host=${rest%%:*}
port=5432
[[ $rest == *:* ]] && port=${rest##*:}
[[ -z $host ]] && host=localhost

if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
  exit 0
fi

cat >&2 <<MSG
No PostgreSQL is reachable at $host:$port, which $purpose needs.
Do one of these, then run the command again:
  - start a local server: sudo pg_ctlcluster \$(ls /etc/postgresql) main start   (Debian/Ubuntu)
                          brew services start postgresql                          (macOS)
  - install one:          sudo apt-get install postgresql                         (Debian/Ubuntu)
  - run one in Docker:    docker run -d -p 5432:5432 -e POSTGRES_HOST_AUTH_METHOD=trust postgres:16
  - point DATABASE_URL at another server: DATABASE_URL=postgres://user:pass@host:5432/auth_service
  - or unset DATABASE_URL: the service then keeps its data in the SQLite file ./auth.db
MSG
exit 1
