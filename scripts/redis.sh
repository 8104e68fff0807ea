#!/usr/bin/env bash
# A throwaway Redis for the tests, on 127.0.0.1:${CHAT_TEST_REDIS_PORT:-7379} (far from a
# developer's own 6379; below the kernel's ephemeral ports and the protocol tests' random
# ports from 10000), no persistence. `start` prints its URL (once it answers); `stop` stops it;
# `kill` kills it with SIGKILL (a crash).
# Usage: scripts/redis.sh start|stop|kill
set -euo pipefail
port="${CHAT_TEST_REDIS_PORT:-7379}"
dir="${TMPDIR:-/tmp}/chat-test-redis-$port"
command -v redis-server >/dev/null || { echo "Redis is missing: scripts/setup.sh --services installs it" >&2; exit 1; }
case "${1:-start}" in
  start)
    mkdir -p "$dir"
    if ! redis-cli -p "$port" ping >/dev/null 2>&1; then
      redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
        --dir "$dir" --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --daemonize yes
      for _ in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
    fi
    echo "redis://127.0.0.1:$port"
    ;;
  stop)
    redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
    ;;
  kill)
    # A crash, for fault tests: SIGKILL, no shutdown.
    if [[ -f "$dir/redis.pid" ]]; then kill -9 "$(cat "$dir/redis.pid")" 2>/dev/null || true; fi
    ;;
  *) echo "usage: $0 start|stop|kill" >&2; exit 2 ;;
esac
