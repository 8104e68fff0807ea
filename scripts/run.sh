#!/usr/bin/env bash
# Sets up what is missing, then runs the chat with live reload on http://127.0.0.1:3000
# (SQLite at ./data/chat.db). Pass --release for an optimised build (`cargo leptos serve`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [[ "${1:-}" == "--release" ]]; then
  exec cargo leptos serve --release --precompress
fi
exec cargo leptos watch
