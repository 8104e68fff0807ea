#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests, on 127.0.0.1:${CHAT_TEST_PG_PORT:-7432} (far from a
# developer's own 5432; below the kernel's ephemeral ports, which an outgoing connection could
# hold, and the protocol tests' random ports from 10000), data in /tmp. `start` prints its URL; `stop` stops it.
# Usage: scripts/postgres.sh start|stop
set -euo pipefail
port="${CHAT_TEST_PG_PORT:-7432}"
dir="${TMPDIR:-/tmp}/chat-test-pg-$port"
bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)"
[[ -x "$bin/initdb" ]] || { echo "PostgreSQL is missing: scripts/setup.sh --services installs it" >&2; exit 1; }
# PostgreSQL refuses to run as root: run its tools as the postgres user then.
as_pg() { if [[ "$(id -u)" == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case "${1:-start}" in
  start)
    if [[ ! -f "$dir/PG_VERSION" ]]; then
      mkdir -p "$dir"
      [[ "$(id -u)" == 0 ]] && chown postgres: "$dir"
      as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 >/dev/null
    fi
    if ! as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
    fi
    echo "postgres://postgres@127.0.0.1:$port/postgres"
    ;;
  stop)
    if as_pg "$bin/pg_ctl" -D "$dir" status >/dev/null 2>&1; then
      as_pg "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
    fi
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
