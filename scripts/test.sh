#!/usr/bin/env bash
# Runs every test: sets up what is missing (tools, npm packages, Chromium, PostgreSQL, Redis),
# starts a throwaway PostgreSQL on 127.0.0.1:7432 and Redis on :7379 (stopped at the end), checks format and lints,
# runs the Rust tests (the store suite on SQLite and on PostgreSQL), builds the site, then the
# protocol suite (real socket.io-client under node:test against the real server) and the
# browser suite (Playwright + Debian Chromium). Ends with one line: "total: N passed, N
# failed".
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
logs="$root/target/test-logs"
mkdir -p "$logs"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "setup"
scripts/setup.sh --browser --services

step "services"
CHAT_TEST_POSTGRES_URL="$(scripts/postgres.sh start)"
CHAT_TEST_REDIS_URL="$(scripts/redis.sh start)"
export CHAT_TEST_POSTGRES_URL CHAT_TEST_REDIS_URL
trap 'scripts/postgres.sh stop; scripts/redis.sh stop' EXIT
echo "PostgreSQL: $CHAT_TEST_POSTGRES_URL; Redis: $CHAT_TEST_REDIS_URL"

step "format and lints"
cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo clippy -p app --no-default-features --features hydrate,binding-check --target wasm32-unknown-unknown --locked -- -D warnings
cargo clippy -p leptos-socketio --features browser --target wasm32-unknown-unknown --locked -- -D warnings
# The reusable crates' docs build without a warning, and no crate has an import cycle.
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked -p socketioxide-cluster -p leptos-socketio -p chat-protocol
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --locked -p leptos-socketio --features browser --target wasm32-unknown-unknown
node scripts/import-graph.mjs

failed_suites=()

step "Rust tests"
if ! cargo test --workspace --locked 2>&1 | tee "$logs/cargo.txt"; then failed_suites+=("cargo test"); fi
cargo_pass=$(grep -Eo '[0-9]+ passed' "$logs/cargo.txt" | awk '{s+=$1} END {print s+0}')
cargo_fail=$(grep -Eo '[0-9]+ failed' "$logs/cargo.txt" | awk '{s+=$1} END {print s+0}')

step "build the site (server + WASM) and the load harness"
# The browser tests also load the socket binding's own check page (app feature binding-check).
cargo leptos build --lib-features binding-check
cargo build -p chat-bench --locked

step "protocol tests (socket.io-client against the server)"
# Bounded: a test file fails after 10 minutes, a file's process exits when its tests end (the
# servers it started are killed then), and the suite as a whole gets 30 minutes.
if ! timeout --kill-after=30s 30m node --test --test-timeout=600000 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination="$logs/protocol.tap" end2end/protocol/; then
  failed_suites+=("protocol")
fi
proto_pass=$(awk '/^# pass /{print $3}' "$logs/protocol.tap" | tail -n1)
proto_fail=$(awk '/^# fail /{print $3}' "$logs/protocol.tap" | tail -n1)

step "browser tests (Playwright, Chromium)"
if ! (cd end2end && timeout --kill-after=30s 25m npx playwright test); then failed_suites+=("browser"); fi
read -r e2e_pass e2e_fail < <(node -e '
  const r = require(process.argv[1]);
  console.log(r.stats.expected + r.stats.flaky, r.stats.unexpected);
' "$root/end2end/test-results/results.json" 2>/dev/null || echo "0 1")

pass=$((cargo_pass + ${proto_pass:-0} + e2e_pass))
fail=$((cargo_fail + ${proto_fail:-1} + e2e_fail))
echo
printf "%-10s %4s passed %4s failed\n" cargo "$cargo_pass" "$cargo_fail" protocol "${proto_pass:-0}" "${proto_fail:-?}" browser "$e2e_pass" "$e2e_fail"
if ((${#failed_suites[@]})); then
  echo "failing suites: ${failed_suites[*]}"
  fail=$((fail > 0 ? fail : 1))
fi
echo "total: $pass passed, $fail failed"
[[ $fail -eq 0 ]]
