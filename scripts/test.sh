#!/usr/bin/env bash
# The README's test command: installs what the tests need, builds with Porteiro's own code
# warning-free, and runs the whole suite. `.ci/run` calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

need_swift() {
  if ! command -v swift >/dev/null 2>&1; then
    echo "swift is not on PATH: install the Swift 6 toolchain (https://www.swift.org/install/linux/)" >&2
    exit 1
  fi
}

# System libraries the Swift packages link against, and the real tools the tests drive:
# nginx (forward-auth), curl (HTTP/2), openssl (test certificates), systemd-analyze (the unit),
# Chromium and its driver (the browser suite), PostgreSQL (revocations shared by replicas).
install_system_packages() {
  local missing=()
  for pkg in libssl-dev zlib1g-dev nginx-light curl openssl systemd chromium chromium-driver postgresql; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    if [ "$(id -u)" -ne 0 ]; then
      echo "missing system packages; run: sudo apt-get install -y ${missing[*]}" >&2
      exit 1
    fi
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
  fi
}

need_swift
install_system_packages

log "building (warnings in Sources/ and Tests/ fail the build)"
build_log=$(mktemp)
swift build --build-tests 2>&1 | tee "$build_log" | grep -E "error:|Compiling porteiro|Build complete" || true
if grep -q "error:" "$build_log"; then
  echo "build failed" >&2
  exit 1
fi
own_warnings=$(grep -E "^$(pwd)/(Sources|Tests)/.*warning:" "$build_log" | sort -u || true)
if [ -n "$own_warnings" ]; then
  echo "compiler warnings in Porteiro's own code:" >&2
  echo "$own_warnings" >&2
  exit 1
fi

# Python test tools (the real OpenID providers and pytest) in a local venv.
install_python_tools() {
  if [ ! -x .venv/bin/python ]; then
    log "creating .venv"
    python3 -m venv .venv
  fi
  if ! .venv/bin/python -c "import oidc_provider_mock, oauth2_provider, pytest, requests, yaml, kubernetes_validate, dockerfile_parse, selenium, idpyoidc, flask" 2>/dev/null; then
    log "installing tests/e2e/requirements.txt into .venv"
    .venv/bin/pip install -q -r tests/e2e/requirements.txt
  fi
}

# A private PostgreSQL (own data directory and port) for the shared-state tests; the tests stop
# and restart it through scripts/postgres.sh to play a database outage.
log "starting a private PostgreSQL"
PORTEIRO_TEST_POSTGRES_DIR=$(mktemp -d /tmp/porteiro-pg.XXXXXX)
trap 'bash scripts/postgres.sh stop "$PORTEIRO_TEST_POSTGRES_DIR"; rm -rf "$PORTEIRO_TEST_POSTGRES_DIR"' EXIT
PORTEIRO_TEST_DATABASE_URL=$(bash scripts/postgres.sh start "$PORTEIRO_TEST_POSTGRES_DIR")
export PORTEIRO_TEST_POSTGRES_DIR PORTEIRO_TEST_DATABASE_URL

log "running the Swift test suite"
swift test --skip-build --parallel 2>&1 | tee "$build_log.test" | grep -vE "^\[[0-9]+/[0-9]+\]" || true
status=${PIPESTATUS[0]}
if grep -qE "^✘|Test run .* failed|with [1-9][0-9]* failures" "$build_log.test"; then
  status=1
fi

log "replaying the fuzz corpus (seeds and past findings)"
"$(swift build --show-bin-path)/porteiro-fuzz" fuzz/corpus || status=1

install_python_tools
log "running the end-to-end suite against real OpenID providers"
PORTEIRO_BIN="$(swift build --show-bin-path)/porteiro" .venv/bin/python -m pytest tests/e2e -q -p no:cacheprovider || status=1
exit "$status"
