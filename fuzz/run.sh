#!/usr/bin/env bash
# Fuzzes Porteiro's parsers with libFuzzer (Swift's -sanitize=fuzzer, with AddressSanitizer):
#   bash fuzz/run.sh                 # every target, 600 s each, one after the other
#   SECONDS_PER_TARGET=60 bash fuzz/run.sh cookie redirect
# Targets (fuzz/Sources/FuzzTargets.swift): cookie, config, redirect, path, jwt, claims, and the whole request
# path: request (HTTP/1.1) and request-h2 (an HTTP/2 stream). Each starts from
# fuzz/corpus/<target>/ and works in fuzz/.work/<target>/; a crash is written to fuzz/.work/ and its
# input must then be copied into fuzz/corpus/<target>/, where `scripts/test.sh` replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${SECONDS_PER_TARGET:-600}
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(cookie config redirect path jwt claims request request-h2)

echo "building the fuzz targets (release, -sanitize=fuzzer,address) into .build-fuzz…" >&2
swift build -c release --scratch-path .build-fuzz --product porteiro-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING 2>&1 | grep -E "error:" >&2 || true
BIN="$(swift build -c release --scratch-path .build-fuzz --show-bin-path)/porteiro-fuzz"
[ -x "$BIN" ] || { echo "the fuzz build failed" >&2; exit 1; }

mkdir -p fuzz/.work
for target in "${TARGETS[@]}"; do
  work="fuzz/.work/$target"
  mkdir -p "$work"
  cp -n fuzz/corpus/"$target"/* "$work"/ 2>/dev/null || true
  log="fuzz/.work/$target.log"
  echo "== $target: $SECONDS_PER_TARGET s" >&2
  # The jwt and request targets await async work (jwt-kit; the authenticator's off-loop calls): a
  # finishing task may still hold the last input's objects when LeakSanitizer looks, a false report.
  # Their memory is watched instead: libFuzzer's -rss_limit_mb stops a run that grows.
  extra=(); leaks=1
  case "$target" in jwt|request|request-h2) extra=(-detect_leaks=0); leaks=0 ;; esac
  ASAN_OPTIONS="detect_leaks=$leaks" PORTEIRO_FUZZ_TARGET="$target" "$BIN" "${extra[@]}" -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10 \
    -max_len=8192 -print_final_stats=1 -artifact_prefix="fuzz/.work/$target-" "$work" > "$log" 2>&1 || status=$?
  runs=$(grep -E "^stat::number_of_executed_units" "$log" | awk '{print $2}' || true)
  coverage=$(grep -E "#[0-9]+.*cov:" "$log" | tail -1 | sed -E 's/.*cov: ([0-9]+).*ft: ([0-9]+).*/\1 edges, \2 features/' || true)
  corpus=$(ls "$work" | wc -l)
  echo "| $target | ${runs:-?} | ${coverage:-?} | $corpus | $( [ "${status:-0}" -eq 0 ] && echo none || echo "see $log" ) |"
  status=0
done
