#!/usr/bin/env bash
# Micro-benchmarks of the per-request pure work (session cookie, routes, policy, ID token),
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
  python3 - "$OUT" docs/performance.md <<'PY'
import sys
table, doc = open(sys.argv[1]).read().strip(), open(sys.argv[2]).read()
start, end = "<!-- bench/micro.sh:start -->", "<!-- bench/micro.sh:end -->"
head, rest = doc.split(start, 1)
open(sys.argv[2], "w").write(head + start + "\n" + table + "\n" + end + rest.split(end, 1)[1])
PY
  echo "docs/performance.md updated" >&2
fi
