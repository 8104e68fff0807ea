#!/usr/bin/env bash
# Runs the load harness against a release server (a primary with 2 workers on ports
# 4100-4101, fresh database) and prints each mode's table and JSON line.
# Usage: scripts/bench.sh [fanout|channels|idle|hold|storm|writes|replay|all] [extra chat-bench args...]
# CHAT_BENCH_WORKERS=N runs N workers (ports 4100 … 4100+N-1): a crowd larger than
# ~19,000 per worker needs more workers than cores (20,000 file descriptors per process).
# Build first: cargo leptos build --release && cargo build --release -p chat-bench
# CHAT_SERVER_BIN=path picks another server binary (scripts/bench-compare.sh uses it).
# CHAT_BENCH_TMP=dir puts the database there (e.g. /dev/shm: no disk stalls, no durability;
# for finding the server's own limits only).
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-all}"
shift || true
server="${CHAT_SERVER_BIN:-target/release/chat-server}"
bench=target/release/chat-bench
data="$(mktemp -d -p "${CHAT_BENCH_TMP:-${TMPDIR:-/tmp}}")"
ulimit -n 65536 2>/dev/null || true  # thousands of sockets on both sides
# The load comes from one address and one client writes fast: lift the abuse limits (as
# environment variables, so older binaries compared by bench-compare.sh start too).
export CHAT_MESSAGE_RATE=0 CHAT_MAX_CONNECTIONS=0 CHAT_MAX_CONNECTIONS_PER_IP=0 CHAT_SIGN_IN_ATTEMPTS=100000
workers="${CHAT_BENCH_WORKERS:-2}"
ports="$(seq -s, 4100 $((4100 + workers - 1)))"
"$server" --port 4100 --workers "$workers" --db "$data/chat.db" --site-root target/site --log warn &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$data"' EXIT
for port in ${ports//,/ }; do
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
    sleep 0.1
  done
done
run() { "$bench" --ports "$ports" --server-pid "$pid" "$@"; }
case "$mode" in
  fanout) run fanout "$@" ;;
  idle) run idle "$@" ;;
  hold) run hold "$@" ;;
  storm) run storm "$@" ;;
  writes) run writes "$@" ;;
  replay) run replay "$@" ;;
  channels) run channels "$@" ;;
  all)
    run fanout --clients 200 --senders 20 --rate 10 --duration 10   # 200 msg/s in, 40k deliveries/s
    run fanout --clients 1000 --senders 50 --rate 10 --duration 10  # 500 msg/s in, 500k deliveries/s
    run fanout --clients 1000 --senders 50 --rate 10 --duration 10 --batched  # the same, as the Leptos page reads
    run idle --clients 5000 --hold 2
    run writes --window 64 --duration 5
    run replay --history 100000
    ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
