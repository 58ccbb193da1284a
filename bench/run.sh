#!/usr/bin/env bash
# Porteiro against nginx on this machine, in one interleaved run (A B C A B C …).
#   bash bench/run.sh                 # 3 rounds × 10 s per row
#   ROUNDS=5 DURATION=20s bash bench/run.sh
# Rows: the upstream alone (nginx), nginx as a plain reverse proxy (the reference), Porteiro
# (release build) as a reverse proxy on an `auth: none` route. Paths: / (small) and /big (64 KiB).
# Then a 1 GiB download and a 1 GiB upload through Porteiro, with its memory before and after.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
RUN=bench/.run
UPSTREAM_PORT=18080 NGINX_PROXY_PORT=18081 PORTEIRO_PORT=18082 SINK_PORT=18083

need() {
  local missing=()
  for bin in "$@"; do command -v "$bin" >/dev/null || missing+=("$bin"); done
  [ ${#missing[@]} -eq 0 ] && return
  echo "installing ${missing[*]} (Debian packages nginx-light, wrk, curl)" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk curl >/dev/null
}
need nginx wrk curl

echo "building Porteiro (release)…" >&2
swift build -c release --product porteiro 2>&1 | grep -E "error|warning: .*/Sources/" >&2 || true
PORTEIRO=$(swift build -c release --show-bin-path)/porteiro

rm -rf "$RUN" && mkdir -p "$RUN/www" "$RUN/logs"
printf 'Hello, world\n' > "$RUN/www/index.html"
head -c 65536 /dev/urandom > "$RUN/www/big"
truncate -s 1G "$RUN/www/1g"

cat > "$RUN/upstream.conf" <<CONF
worker_processes 1;
pid $PWD/$RUN/upstream.pid;
error_log $PWD/$RUN/logs/upstream.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$UPSTREAM_PORT;
    root $PWD/$RUN/www;
    location = / { try_files /index.html =404; }
    location = /big { default_type application/octet-stream; }
  }
}
CONF
cat > "$RUN/proxy.conf" <<CONF
worker_processes 2;
pid $PWD/$RUN/proxy.pid;
error_log $PWD/$RUN/logs/proxy.err warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream app { server 127.0.0.1:$UPSTREAM_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX_PROXY_PORT;
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
}
CONF
cat > "$RUN/porteiro.yaml" <<CONF
server:
  listen: "127.0.0.1:$PORTEIRO_PORT"
logging:
  level: warning
  access_log: false
routes:
  - path: /upload
    upstream: "http://127.0.0.1:$SINK_PORT"
    auth: none
    timeout: 5m
  - path: /
    upstream: "http://127.0.0.1:$UPSTREAM_PORT"
    auth: none
CONF
cat > "$RUN/sink.py" <<'PY'
# Upload sink: reads and discards the request body, answers with its size.
import http.server, sys
class Sink(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        left = int(self.headers.get("Content-Length", 0)); total = 0
        while left:
            chunk = self.rfile.read(min(left, 1 << 20)); left -= len(chunk); total += len(chunk)
        body = str(total).encode(); self.send_response(200)
        self.send_header("Content-Length", str(len(body))); self.end_headers(); self.wfile.write(body)
    def log_message(self, *args): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
PY

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$RUN/upstream.pid" ] && kill "$(cat "$RUN/upstream.pid")" 2>/dev/null || true
  [ -f "$RUN/proxy.pid" ] && kill "$(cat "$RUN/proxy.pid")" 2>/dev/null || true
}
trap cleanup EXIT
nginx -c "$PWD/$RUN/upstream.conf" -p "$PWD/$RUN" -g 'daemon on;'
nginx -c "$PWD/$RUN/proxy.conf" -p "$PWD/$RUN" -g 'daemon on;'
"$PORTEIRO" serve --config "$RUN/porteiro.yaml" 2>"$RUN/logs/porteiro.err" & PIDS+=($!)
PORTEIRO_PID=$!
python3 "$RUN/sink.py" "$SINK_PORT" & PIDS+=($!)
for port in $UPSTREAM_PORT $NGINX_PROXY_PORT $PORTEIRO_PORT $SINK_PORT; do
  for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
done

# The processes behind each row, for CPU and memory.
pids_of() {
  case "$1" in
    direct) echo "$(cat "$RUN/upstream.pid") $(pgrep -P "$(cat "$RUN/upstream.pid")" | tr '\n' ' ')" ;;
    nginx) echo "$(cat "$RUN/proxy.pid") $(pgrep -P "$(cat "$RUN/proxy.pid")" | tr '\n' ' ')" ;;
    porteiro) echo "$PORTEIRO_PID" ;;
  esac
}
cpu_ticks() { local t=0; for pid in $*; do t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo $t; }
rss_kib() { local t=0; for pid in $*; do t=$((t + $(awk '/VmRSS/ {print $2}' "/proc/$pid/status"))); done; echo $t; }
port_of() { case "$1" in direct) echo $UPSTREAM_PORT ;; nginx) echo $NGINX_PROXY_PORT ;; porteiro) echo $PORTEIRO_PORT ;; esac; }
to_us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else print n * 1000000 }'; }
HZ=$(getconf CLK_TCK)

RESULTS="$RUN/results.tsv"
: > "$RESULTS"
for round in $(seq "$ROUNDS"); do
  for path in / /big; do
    for row in direct nginx porteiro; do
      pids=$(pids_of "$row")
      before=$(cpu_ticks $pids)
      out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$(port_of "$row")$path")
      after=$(cpu_ticks $pids)
      requests=$(echo "$out" | awk '/requests in/ {print $1}')
      rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
      p50=$(to_us "$(echo "$out" | awk '$1 == "50%" {print $2}')")
      p99=$(to_us "$(echo "$out" | awk '$1 == "99%" {print $2}')")
      errors=$(echo "$out" | awk '/Non-2xx/ {print $5}'); errors=${errors:-0}
      socket_errors=$(echo "$out" | awk -F'[ ,]+' '/Socket errors/ {print $4 + $6 + $8 + $10}'); socket_errors=${socket_errors:-0}
      cpu_us=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$path" "$row" "$rps" "$p50" "$p99" "$cpu_us" \
        "$(rss_kib $pids)" "$((errors + socket_errors))" >> "$RESULTS"
      echo "round $round $path $row: $rps req/s" >&2
    done
  done
done

echo
echo "Porteiro vs nginx — $(date -u +%Y-%m-%d), $(nproc) cores, wrk -t1 -c$CONNECTIONS -d$DURATION, $ROUNDS interleaved rounds (medians)"
echo
python3 - "$RESULTS" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    _, path, row, rps, p50, p99, cpu, rss, errors = line.split("\t")
    rows[(path, row)].append((float(rps), float(p50), float(p99), float(cpu), int(rss), int(errors)))
names = {"direct": "upstream alone (nginx)", "nginx": "nginx reverse proxy", "porteiro": "Porteiro"}
print("| path | row | req/s | p50 µs | p99 µs | server CPU µs/req | RSS MiB | errors | vs nginx proxy |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for path in ["/", "/big"]:
    ref = statistics.median(r[0] for r in rows[(path, "nginx")])
    for row in ["direct", "nginx", "porteiro"]:
        values = rows[(path, row)]
        med = lambda i: statistics.median(v[i] for v in values)
        print(f"| {path} | {names[row]} | {med(0):,.0f} | {med(1):,.0f} | {med(2):,.0f} | {med(3):.1f} | "
              f"{max(v[4] for v in values) / 1024:.1f} | {sum(v[5] for v in values)} | {med(0) / ref:.2f}× |")
PY

echo
hwm() { awk '/VmHWM/ {print $2}' "/proc/$PORTEIRO_PID/status"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$PORTEIRO_PID/status"; }
before=$(rss)
down=$(curl -s -o /dev/null -w '%{size_download} %{time_total}' "http://127.0.0.1:$PORTEIRO_PORT/1g")
after_down=$(rss)
up=$(curl -s -X POST -T "$RUN/www/1g" -H 'Content-Type: application/octet-stream' -H 'Expect:' \
  -w ' %{time_total}' "http://127.0.0.1:$PORTEIRO_PORT/upload")
after_up=$(rss)
echo "1 GiB through Porteiro: download $(echo "$down" | awk '{printf "%d bytes in %.1f s", $1, $2}'), upload $(echo "$up" | awk '{printf "%d bytes acknowledged in %.1f s", $1, $2}')"
echo "Porteiro RSS: $((before / 1024)) MiB before, $((after_down / 1024)) MiB after the download, $((after_up / 1024)) MiB after the upload (growth $(( (after_up - before) / 1024 )) MiB; peak $(( $(hwm) / 1024 )) MiB)"
