#!/usr/bin/env bash
# Soak: Porteiro under wrk with a logged-in session for a while (10 minutes by default), while its
# access tokens expire and refresh and its configuration reloads every 30 s. Samples RSS and open
# file descriptors every 5 s and reports failures and growth.
#   bash bench/soak.sh                  # 600 s
#   SOAK_SECONDS=120 bash bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK_SECONDS=${SOAK_SECONDS:-600}
RUN=bench/.soak
UPSTREAM_PORT=18180 PORTEIRO_PORT=18182 METRICS_PORT=18183 PROVIDER_PORT=18185
. bench/common.sh
need_packages nginx-light wrk curl
release_porteiro
rm -rf "$RUN"
write_upstream_conf "$RUN" "$UPSTREAM_PORT"
write_config() {
  cat > "$RUN/porteiro.yaml.new" <<CONF
server:
  listen: "127.0.0.1:$PORTEIRO_PORT"
  public_url: "http://127.0.0.1:$PORTEIRO_PORT"
  metrics_listen: "127.0.0.1:$METRICS_PORT"
  config_poll_interval: 1s
logging: { level: warning, access_log: false }
provider:
  issuer: "http://127.0.0.1:$PROVIDER_PORT"
  client_id: soak
session:
  secrets: ["$SECRET"]
  refresh_before: 30s
routes:
  - path: /reload-$1/
    upstream: "http://127.0.0.1:$UPSTREAM_PORT"
    auth: none
  - path: /
    upstream: "http://127.0.0.1:$UPSTREAM_PORT"
    allow: { groups: [servidores] }
CONF
  mv "$RUN/porteiro.yaml.new" "$RUN/porteiro.yaml"
}
SECRET=$("$PORTEIRO" keygen)
write_config 0
# Keeps the session cookie the gateway last set, like a browser, and counts answers but 200.
cat > "$RUN/soak.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) failures = 0; cookie = os.getenv("SOAK_COOKIE") end
function request() return wrk.format("GET", "/", { ["Cookie"] = cookie }) end
function response(status, headers, body)
  if status ~= 200 then failures = failures + 1 end
  local set = headers["Set-Cookie"]
  if set then
    local value = set:match("^_porteiro=([^;]+)")
    if value and value ~= "" then cookie = cookie:gsub("_porteiro=[^;]+", "_porteiro=" .. value) end
  end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("failures") end
  io.write("failures ", total, "\n")
end
LUA

PIDS=()
trap 'stop_started upstream' EXIT
# Porteiro's development provider gives refreshed tokens the same 60 s (oidc-provider-mock gives them an hour).
"$PORTEIRO" dev-provider --port "$PROVIDER_PORT" --client-id soak --gateway "http://127.0.0.1:$PORTEIRO_PORT" \
  --token-lifetime 60s >"$RUN/logs/provider.log" 2>&1 & PIDS+=($!)
nginx -c "$PWD/$RUN/upstream.conf" -p "$PWD/$RUN" -g 'daemon on;'
"$PORTEIRO" serve --config "$RUN/porteiro.yaml" 2>"$RUN/logs/porteiro.err" & PIDS+=($!)
PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORTEIRO_PORT/ready" >/dev/null && break; sleep 0.2; done
COOKIE=$(.venv/bin/python bench/login.py "http://127.0.0.1:$PORTEIRO_PORT/" maria)

sample() { echo "$(date +%s) $(awk '/VmRSS/ {print $2}' /proc/$PID/status) $(ls /proc/$PID/fd | wc -l)"; }
( while kill -0 $PID 2>/dev/null; do sample; sleep 5; done ) > "$RUN/samples.txt" & PIDS+=($!)
( n=0; while sleep 30; do n=$((n + 1)); write_config "$n"; done ) & PIDS+=($!)
SOAK_COOKIE="$COOKIE" wrk -t1 -c16 -d"${SOAK_SECONDS}s" -s "$RUN/soak.lua" "http://127.0.0.1:$PORTEIRO_PORT/" > "$RUN/wrk.txt"
metrics=$(curl -s "http://127.0.0.1:$METRICS_PORT/metrics")
metric() { echo "$metrics" | awk -v name="$1" '$1 == name {print $2}'; }
python3 - "$RUN/samples.txt" "$RUN/wrk.txt" "$SOAK_SECONDS" "$(metric porteiro_token_refreshes_total)" \
  "$(metric porteiro_config_reloads_total)" "$(metric porteiro_config_reload_failures_total)" <<'PY'
import sys, statistics
samples = [tuple(map(int, line.split())) for line in open(sys.argv[1]) if len(line.split()) == 3]
wrk = open(sys.argv[2]).read()
start = samples[0][0]
first = [s for s in samples if s[0] - start < 60]
last = [s for s in samples if samples[-1][0] - s[0] < 60]
requests = wrk.split(" requests in")[0].split()[-1]
failures = [line.split()[1] for line in wrk.splitlines() if line.startswith("failures")][0]
rss = lambda group: statistics.mean(s[1] for s in group) / 1024
fds = lambda group: statistics.mean(s[2] for s in group)
print(f"Soak: {sys.argv[3]} s, `bash bench/soak.sh`, wrk -t1 -c16 on a logged-in route; tokens live 60 s "
      f"(refreshed 30 s before expiry), the configuration rewritten every 30 s.")
print(f"- requests: {requests}, answers other than 200: {failures}")
print(f"- token refreshes: {sys.argv[4]}, configuration reloads: {sys.argv[5]} (refused: {sys.argv[6]})")
print(f"- RSS: {rss(first):.1f} MiB in the first minute, {rss(last):.1f} MiB in the last (growth {rss(last) - rss(first):+.1f} MiB)")
print(f"- open file descriptors: {fds(first):.0f} in the first minute, {fds(last):.0f} in the last")
PY
