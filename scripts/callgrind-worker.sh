#!/usr/bin/env bash
# Instruction counts of one worker under a chat-bench load: runs a release server with one
# worker under valgrind's callgrind, warms it up with a short run of the same load, zeroes
# the worker's counters, runs the load, dumps, and prints the worker's total, the bench's
# summary and the top functions by inclusive count. `perf` records no samples on this
# machine; callgrind's counts are repeatable to a fraction of a percent.
# Usage: scripts/callgrind-worker.sh OUT_DIR MODE [chat-bench args...]
# e.g.   scripts/callgrind-worker.sh /tmp/cg-fan fanout --clients 300 --senders 10 --rate 10 --duration 4
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1
shift
bin=${CHAT_SERVER_BIN:-target/release/chat-server}
bench=target/release/chat-bench
port=${CALLGRIND_PORT:-4300}
command -v valgrind > /dev/null || { echo "valgrind is missing: apt-get install -y valgrind" >&2; exit 1; }
rm -rf "$out" && mkdir -p "$out"
CHAT_MESSAGE_RATE=0 CHAT_MAX_CONNECTIONS=0 CHAT_MAX_CONNECTIONS_PER_IP=0 \
  valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$out/cg.%p" \
  "$bin" --port "$port" --workers 1 --db "$out/chat.db" --site-root target/site --log warn \
  > "$out/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2> /dev/null || true; pkill -f "valgrind.bin.*--port $port" || true' EXIT
worker=""
for _ in $(seq 1 60); do
  worker=$(pgrep -f "port $port .*worker-index 0" | head -n1 || true)
  if [[ -n "$worker" ]] && curl -sf "http://127.0.0.1:$port/socket.io/?EIO=4&transport=polling" > /dev/null; then
    break
  fi
  sleep 1
done
[[ -n "$worker" ]] || { echo "the worker did not start; see $out/server.log" >&2; exit 1; }
"$bench" --ports "$port" "$@" > /dev/null
callgrind_control -z "$worker" > /dev/null 2>&1
"$bench" --ports "$port" "$@" > "$out/bench.txt"
callgrind_control -d "$worker" > /dev/null 2>&1
profile=$(ls "$out"/cg."$worker".* | head -n1)
grep -v '^{' "$out/bench.txt"
echo "worker instructions: $(callgrind_annotate "$profile" 2> /dev/null | grep 'PROGRAM TOTALS')"
callgrind_annotate --inclusive=yes "$profile" 2> /dev/null | sed -n '/file:function/,$p' \
  | grep -v -E 'tokio::runtime|std::rt|libc-start|below main|ld-linux|:main |backtrace' | head -n 40
echo "profile: $profile (callgrind_annotate --inclusive=yes --tree=calling $profile)"
