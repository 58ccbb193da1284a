#!/usr/bin/env bash
# Micro-benchmarks of the per-request pure work (session cookie, routes, policy, ID token) and of one
# whole proxied exchange in memory (the gateway pipeline beside bare NIO codecs),
# release-built, each beside the bare primitive it is built on.
#   bash bench/micro.sh                 # prints the table
#   WRITE_DOCS=1 bash bench/micro.sh    # also replaces it in docs/performance.md
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product porteiro-microbench 2>&1 | grep -E "error|warning: .*/bench/" >&2 || true
OUT=$(mktemp)
{
  echo "Run: $(date -u +%Y-%m-%d), \`bash bench/micro.sh\`, $(nproc) cores, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo); median of 7 batches."
  echo
  "$(swift build -c release --show-bin-path)/porteiro-microbench"
} > "$OUT"
cat "$OUT"
if [ "${WRITE_DOCS:-0}" = 1 ]; then
  python3 bench/write_docs.py bench/micro.sh "$OUT"
fi
