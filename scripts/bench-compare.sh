#!/usr/bin/env bash
# Runs the same load against two server binaries, one after the other, and prints each
# figure side by side with the ratio new/old: a change is judged in one run on one machine.
# Usage: scripts/bench-compare.sh OLD_BIN NEW_BIN MODE [chat-bench args...]
# e.g.   scripts/bench-compare.sh /tmp/chat-server-old target/release/chat-server writes --window 64
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1 new=$2
shift 2
old_json=$(CHAT_SERVER_BIN="$old" scripts/bench.sh "$@" | tail -n1)
new_json=$(CHAT_SERVER_BIN="$new" scripts/bench.sh "$@" | tail -n1)
node -e '
  const [a, b] = [JSON.parse(process.argv[1]), JSON.parse(process.argv[2])];
  console.log(`${"figure".padEnd(28)} ${"old".padStart(14)} ${"new".padStart(14)}  new/old`);
  for (const k of Object.keys(b)) {
    if (typeof b[k] !== "number") continue;
    const ratio = a[k] ? (b[k] / a[k]).toFixed(3) : "";
    console.log(`${k.padEnd(28)} ${String(+(+a[k]).toFixed(3)).padStart(14)} ${String(+b[k].toFixed(3)).padStart(14)}  ${ratio}`);
  }
' "$old_json" "$new_json"
