#!/usr/bin/env bash
# Two Porteiro builds side by side, interleaved (A B, A B, …): what one change bought.
#   bash bench/ab.sh /path/to/porteiro-before /path/to/porteiro-after [ROUNDS]
# One nginx serves `/` (13 bytes); each build proxies it on an `auth: none` route with its access
# log on and off; `wrk -t1 -c32 -d10s` per row. CPU is the build's user+system time
# (/proc/PID/stat) divided by the requests wrk completed.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bash bench/ab.sh BEFORE AFTER [ROUNDS]" >&2; exit 2; }
BEFORE=$1 AFTER=$2 ROUNDS=${3:-3}
RUN=bench/.ab UPSTREAM_PORT=18090 PORTEIRO_PORT=18092
. bench/common.sh
need_packages nginx-light wrk curl
rm -rf "$RUN" && mkdir -p "$RUN/www"
printf 'Hello, world\n' > "$RUN/www/index.html"
cat > "$RUN/upstream.conf" <<CONF
worker_processes 1;
pid $PWD/$RUN/upstream.pid;
error_log $PWD/$RUN/upstream.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$UPSTREAM_PORT; root $PWD/$RUN/www; location = / { try_files /index.html =404; } }
}
CONF
for log in true false; do
  printf 'server: { listen: "127.0.0.1:%s" }\nlogging: { access_log: %s }\nroutes:\n  - { path: /, upstream: "http://127.0.0.1:%s", auth: none }\n' \
    "$PORTEIRO_PORT" "$log" "$UPSTREAM_PORT" > "$RUN/log-$log.yaml"
done
nginx -c "$PWD/$RUN/upstream.conf" -p "$PWD/$RUN" -g 'daemon on;'
trap 'kill "$(cat "$RUN/upstream.pid")" 2>/dev/null || true' EXIT
echo "| round | build | access log | req/s | CPU µs/req |"
echo "| ---: | --- | --- | ---: | ---: |"
for round in $(seq "$ROUNDS"); do
  for build in before after; do
    binary=$BEFORE; [ "$build" = after ] && binary=$AFTER
    for log in true false; do
      "$binary" serve --config "$RUN/log-$log.yaml" 2>"$RUN/$build-$log.err" & pid=$!
      for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORTEIRO_PORT/" >/dev/null && break; sleep 0.1; done
      ticks_before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
      out=$(wrk -t1 -c32 -d10s "http://127.0.0.1:$PORTEIRO_PORT/")
      ticks_after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
      kill "$pid"; wait "$pid" 2>/dev/null || true
      requests=$(echo "$out" | awk '/requests in/ {print $1}')
      rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
      cpu=$(awk -v t=$((ticks_after - ticks_before)) -v r="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz * 1e6 / r }')
      echo "| $round | $build | $log | $rate | $cpu |"
    done
  done
done
