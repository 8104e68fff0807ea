#!/usr/bin/env bash
# Finds the knee of the fan-out: the highest delivery rate that, like every rate below it,
# keeps the end-to-end p99 under 100 ms with nothing lost. Runs `scripts/bench.sh fanout` (a
# fresh server each time) at each rate in turn, 1000 clients of which 50 send, and prints one
# line per rate, then the knee.
# Usage: scripts/bench-knee.sh [MSGS_IN_PER_S...]   (default: 500 600 700 800 900 1000)
# Deliveries/s = 1000 × msgs in/s. CHAT_BENCH_TMP=/dev/shm keeps disk stalls out of p99.
# CHAT_BENCH_FANOUT_ARGS adds chat-bench fanout arguments (e.g. --batched).
set -euo pipefail
cd "$(dirname "$0")/.."
rates=("$@")
[[ ${#rates[@]} -gt 0 ]] || rates=(500 600 700 800 900 1000)
knee=none
failed=false
printf "%-10s %14s %9s %9s %13s %6s\n" "msgs in/s" "deliveries/s" "p50 ms" "p99 ms" "µs/delivery" lost
for rate in "${rates[@]}"; do
  per_sender=$(( rate / 50 ))
  json=$(scripts/bench.sh fanout --clients 1000 --senders 50 --rate "$per_sender" --duration 8 \
    ${CHAT_BENCH_FANOUT_ARGS:-} | tail -n1)
  line=$(node -e '
    const r = JSON.parse(process.argv[1]);
    const f = (x, d) => Number(x).toFixed(d);
    console.log([r.deliveries_per_s, f(r.latency_p50_ms, 1), f(r.latency_p99_ms, 1),
      f(r.server_cpu_us_per_delivery, 2), r.lost, r.latency_p99_ms < 100 && r.lost === 0].join(" "));
  ' "$json")
  read -r per_s p50 p99 cpu lost ok <<< "$line"
  printf "%-10s %14s %9s %9s %13s %6s\n" "$((per_sender * 50))" "$per_s" "$p50" "$p99" "$cpu" "$lost"
  if [[ $ok == true && $failed == false ]]; then knee=$per_s; else failed=true; fi
done
echo "knee (highest rate that, like every rate below it, kept p99 < 100 ms and lost nothing): $knee deliveries/s"
