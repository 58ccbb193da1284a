#!/usr/bin/env bash
# Two Porteiro builds side by side, interleaved (A B, A B, …): what one change bought.
#   bash bench/ab.sh /path/to/porteiro-before /path/to/porteiro-after [ROUNDS]
# One nginx serves `/` (13 bytes); each build proxies it on an `auth: none` route with its access
# log on and off; `wrk -t1 -c32 -d10s` per row. CPU is the build's user+system time
# (/proc/PID/stat) divided by the requests wrk completed.
# ROUTE=login: an `auth: required` route with a group policy instead, logged in at the BEFORE
# build's development provider (1 h tokens: no refresh during a run); one cookie serves both
# builds (the session format AFTER reads must include BEFORE's).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: bash bench/ab.sh BEFORE AFTER [ROUNDS]" >&2; exit 2; }
BEFORE=$1 AFTER=$2 ROUNDS=${3:-3} ROUTE=${ROUTE:-public}
RUN=bench/.ab UPSTREAM_PORT=18090 PORTEIRO_PORT=18092 PROVIDER_PORT=18093
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
  if [ "$ROUTE" = login ]; then
    cat > "$RUN/log-$log.yaml" <<YAML
server: { listen: "127.0.0.1:$PORTEIRO_PORT", public_url: "http://127.0.0.1:$PORTEIRO_PORT" }
logging: { access_log: $log }
provider: { issuer: "http://127.0.0.1:$PROVIDER_PORT", client_id: bench }
session: { secrets: ["LL6RmrB6UvlvV2TTpm1B3CMt0E3OJH6y7OqdVldQnug="] }
routes:
  - { path: /, upstream: "http://127.0.0.1:$UPSTREAM_PORT", allow: { groups: [servidores] } }
YAML
  else
    printf 'server: { listen: "127.0.0.1:%s" }\nlogging: { access_log: %s }\nroutes:\n  - { path: /, upstream: "http://127.0.0.1:%s", auth: none }\n' \
      "$PORTEIRO_PORT" "$log" "$UPSTREAM_PORT" > "$RUN/log-$log.yaml"
  fi
done
nginx -c "$PWD/$RUN/upstream.conf" -p "$PWD/$RUN" -g 'daemon on;'
trap 'kill "$(cat "$RUN/upstream.pid")" 2>/dev/null || true' EXIT
COOKIE=""
if [ "$ROUTE" = login ]; then
  "$BEFORE" dev-provider --port "$PROVIDER_PORT" --client-id bench --gateway "http://127.0.0.1:$PORTEIRO_PORT" \
    --token-lifetime 3600s >/dev/null 2>&1 & provider_pid=$!
  trap 'kill "$(cat "$RUN/upstream.pid")" "$provider_pid" 2>/dev/null || true' EXIT
  "$BEFORE" serve --config "$RUN/log-false.yaml" 2>"$RUN/login.err" & pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORTEIRO_PORT/ready" >/dev/null && break; sleep 0.1; done
  COOKIE=$(.venv/bin/python bench/login.py "http://127.0.0.1:$PORTEIRO_PORT/" maria)
  kill "$pid"; wait "$pid" 2>/dev/null || true
fi
echo "| round | build | access log | req/s | CPU µs/req |"
echo "| ---: | --- | --- | ---: | ---: |"
for round in $(seq "$ROUNDS"); do
  for build in before after; do
    binary=$BEFORE; [ "$build" = after ] && binary=$AFTER
    for log in true false; do
      "$binary" serve --config "$RUN/log-$log.yaml" 2>"$RUN/$build-$log.err" & pid=$!
      for _ in $(seq 100); do curl -sf ${COOKIE:+-H "Cookie: $COOKIE"} "http://127.0.0.1:$PORTEIRO_PORT/" >/dev/null && break; sleep 0.1; done
      status=$(curl -s -o /dev/null -w '%{http_code}' ${COOKIE:+-H "Cookie: $COOKIE"} "http://127.0.0.1:$PORTEIRO_PORT/")
      [ "$status" = 200 ] || { echo "$build answered $status, not 200 (see $RUN/$build-$log.err)" >&2; exit 1; }
      ticks_before=$(awk '{print $14 + $15}' "/proc/$pid/stat")
      out=$(wrk -t1 -c32 -d10s ${COOKIE:+-H "Cookie: $COOKIE"} "http://127.0.0.1:$PORTEIRO_PORT/")
      ticks_after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
      kill "$pid"; wait "$pid" 2>/dev/null || true
      requests=$(echo "$out" | awk '/requests in/ {print $1}')
      rate=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
      cpu=$(awk -v t=$((ticks_after - ticks_before)) -v r="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz * 1e6 / r }')
      echo "| $round | $build | $log | $rate | $cpu |"
    done
  done
done
