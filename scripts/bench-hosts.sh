#!/usr/bin/env bash
# The latency cost of the Redis adapter: the same fan-out load against one host with two
# workers (IPC adapter) and against two hosts with one worker each (Redis adapter), both on a
# fresh PostgreSQL database, ROUNDS times. Needs the release builds and the test services
# (scripts/postgres.sh start; scripts/redis.sh start). Usage: scripts/bench-hosts.sh [ROUNDS]
# [chat-bench fanout args]. SYNC=off sets synchronous_commit=off on the bench databases, so
# PostgreSQL's commit stalls do not hide the adapter's cost.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
shift || true
load=("$@")
((${#load[@]})) || load=(--clients 200 --senders 20 --rate 10 --duration 8)
pg="$(scripts/postgres.sh start)"
redis="$(scripts/redis.sh start)"
export CHAT_MESSAGE_RATE=0 CHAT_MAX_CONNECTIONS=0 CHAT_MAX_CONNECTIONS_PER_IP=0
server=target/release/chat-server
bench=target/release/chat-bench
fresh_db() {
  local name="chat_bench_$RANDOM$RANDOM"
  psql "$pg" -q -c "CREATE DATABASE $name"
  [[ "${SYNC:-on}" == off ]] && psql "$pg" -q -c "ALTER DATABASE $name SET synchronous_commit TO off"
  echo "${pg%/*}/$name"
}
summary() {
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const j=JSON.parse(s.trim().split("\n").pop());
    console.log(process.argv[1].padEnd(30), "p50", j.latency_p50_ms.toFixed(1), "ms  p99", j.latency_p99_ms.toFixed(1), "ms  max", j.latency_max_ms.toFixed(0), "ms  ack p50", j.ack_p50_ms.toFixed(1), "p99", j.ack_p99_ms.toFixed(1), "  lost", j.lost)})' "$1"
}
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true' EXIT
for _ in $(seq 1 "$rounds"); do
  db="$(fresh_db)"
  "$server" --port 4100 --workers 2 --database "$db" --site-root target/site --log error & pids=($!)
  sleep 2
  "$bench" --ports 4100,4101 --server-pid "${pids[0]}" fanout "${load[@]}" 2>/dev/null | summary "IPC: 1 host x 2 workers"
  kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
  db="$(fresh_db)"
  "$server" --port 4300 --workers 1 --database "$db" --adapter "$redis" --site-root target/site --log error & pids=($!)
  "$server" --port 4310 --workers 1 --database "$db" --adapter "$redis" --site-root target/site --log error & pids+=($!)
  sleep 2
  "$bench" --ports 4300,4310 --server-pid "${pids[0]}" fanout "${load[@]}" 2>/dev/null | summary "Redis: 2 hosts x 1 worker"
  kill "${pids[@]}"; wait "${pids[@]}" 2>/dev/null || true
done
