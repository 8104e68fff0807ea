#!/usr/bin/env bash
# Installs what a fresh machine lacks to build and test the chat, and nothing it already has:
# the wasm32 target, wasm-bindgen-cli and cargo-leptos at pinned versions, the npm packages
# (npm ci), and, with --browser, Debian's Chromium for the Playwright suite; with --services,
# Debian's PostgreSQL and Redis (scripts/postgres.sh and scripts/redis.sh start test servers).
#
# Why the copy-and-patch installs: a plain `cargo install --locked` of either tool fails on
# this Rust (1.95) and registry: their lockfiles pin crates that need a newer compiler
# (cargo-util-schemas 0.14.2) or are not in the registry (webpki-roots 1.0.11).
set -euo pipefail

WASM_BINDGEN_VERSION=0.2.130 # must equal the wasm-bindgen pin in Cargo.toml
CARGO_LEPTOS_VERSION=0.3.11
root="$(cd "$(dirname "$0")/.." && pwd)"
want_browser=false
want_services=false
for arg in "$@"; do
  case "$arg" in
    --browser) want_browser=true ;;
    --services) want_services=true ;;
    *) echo "usage: $0 [--browser] [--services]" >&2; exit 2 ;;
  esac
done

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

# cargo install of a registry crate from a patched copy of its source and lockfile.
install_patched() {
  local crate=$1 version=$2 patch_pkg=$3 patch_version=$4
  local work
  work="$(mktemp -d)"
  say "building $crate $version (one-time, several minutes)"
  (cd "$work" && cargo info "$crate@$version" >/dev/null)
  local src
  src="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/"$crate-$version" | head -n1)"
  cp -r "$src" "$work/src"
  (cd "$work/src" && cargo update -p "$patch_pkg" --precise "$patch_version" &&
    CARGO_PROFILE_RELEASE_LTO=false cargo install --path . --locked)
  rm -rf "$work"
}

if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]]; then
  install_patched wasm-bindgen-cli "$WASM_BINDGEN_VERSION" webpki-roots 1.0.10
fi

if [[ "$(cargo leptos --version 2>/dev/null || true)" != *"$CARGO_LEPTOS_VERSION"* ]]; then
  install_patched cargo-leptos "$CARGO_LEPTOS_VERSION" cargo-util-schemas 0.14.1
fi

cd "$root"
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi

apt_updated=false
# apt_install PACKAGE WHAT: installs a Debian package (root only).
apt_install() {
  if [[ "$(id -u)" != 0 ]]; then
    echo "$2 is missing: run 'sudo apt-get install -y $1'" >&2
    exit 1
  fi
  say "installing Debian's $1"
  $apt_updated || apt-get update -qq
  apt_updated=true
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

if $want_browser && [[ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]]; then
  apt_install chromium "Chromium (or set CHROMIUM_PATH)"
fi

if $want_services && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  apt_install postgresql "PostgreSQL"
fi

if $want_services && ! command -v redis-server >/dev/null; then
  apt_install redis-server "Redis"
fi
say "ready"
