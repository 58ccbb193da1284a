#!/usr/bin/env bash
# Porteiro against nginx and Apache + mod_auth_openidc on this machine, in one interleaved run
# (A B C D E, A B C D E, …). Every gateway is logged in through the real authorization-code flow
# (oidc-provider-mock) before its rows run.
#   bash bench/run.sh                       # 3 rounds × 10 s per row
#   ROUNDS=5 DURATION=20s bash bench/run.sh
#   WRITE_DOCS=1 bash bench/run.sh          # also replace the table in docs/performance.md
# Rows: nginx serving the files (the upstream alone); nginx as a plain reverse proxy (the
# reference ceiling); Apache + mod_auth_openidc (client-cookie sessions, access token passed as
# Authorization: Bearer, its cookies stripped); Porteiro on an `auth: required` route with a group
# policy (cookie opened, policy checked, bearer and identity headers injected), as shipped (access
# log and metrics on); Porteiro on an
# `auth: none` route. Paths: / (13 bytes) and /big (64 KiB). Any answer but 200 is a failure.
# Then: Porteiro's memory with 1,000 idle keep-alive clients, and a 1 GiB download and upload.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
# nginx as the plain proxy at its best here: the worker count that served most (measured, see docs/performance.md).
NGINX_WORKERS=${NGINX_WORKERS:-2}
RUN=bench/.run
UPSTREAM_PORT=18080 NGINX_PROXY_PORT=18081 PORTEIRO_PORT=18082 SINK_PORT=18083 APACHE_PORT=18084 PROVIDER_PORT=18085
ulimit -n "$(ulimit -Hn)"  # 1,000 idle clients and their upstream connections

. bench/common.sh
need_packages nginx-light wrk curl apache2 libapache2-mod-auth-openidc python3-venv
if ! .venv/bin/python -c "import oidc_provider_mock, requests" 2>/dev/null; then
  echo "installing the test tools into .venv (tests/e2e/requirements.txt)" >&2
  python3 -m venv .venv && .venv/bin/pip install -q -r tests/e2e/requirements.txt
fi

echo "building Porteiro (release)…" >&2
swift build -c release --product porteiro 2>&1 | grep -E "error|warning: .*/Sources/" >&2 || true
PORTEIRO=$(swift build -c release --show-bin-path)/porteiro

rm -rf "$RUN" && mkdir -p "$RUN/www" "$RUN/logs" "$RUN/apache"
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
    location = /headers {
      default_type text/plain;
      return 200 "authorization=\$http_authorization\nuser=\$http_x_forwarded_user\ngroups=\$http_x_forwarded_groups\ncookie=\$http_cookie\n";
    }
  }
}
CONF
cat > "$RUN/proxy.conf" <<CONF
worker_processes $NGINX_WORKERS;
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
      # Buffers that hold the 64 KiB /big: nginx's defaults (8 × 4 KiB) spill it to a temp file.
      proxy_buffer_size 16k;
      proxy_buffers 8 16k;
      proxy_busy_buffers_size 64k;
    }
  }
}
CONF
MODULES=/usr/lib/apache2/modules
cat > "$RUN/apache.conf" <<CONF
ServerRoot $PWD/$RUN/apache
ServerName 127.0.0.1
Listen 127.0.0.1:$APACHE_PORT
PidFile $PWD/$RUN/apache.pid
ErrorLog $PWD/$RUN/logs/apache.err
LogLevel warn
$( [ "$(id -u)" -eq 0 ] && printf 'User www-data\nGroup www-data' )
LoadModule mpm_event_module $MODULES/mod_mpm_event.so
LoadModule authn_core_module $MODULES/mod_authn_core.so
LoadModule authz_core_module $MODULES/mod_authz_core.so
LoadModule authz_user_module $MODULES/mod_authz_user.so
LoadModule headers_module $MODULES/mod_headers.so
LoadModule proxy_module $MODULES/mod_proxy.so
LoadModule proxy_http_module $MODULES/mod_proxy_http.so
LoadModule auth_openidc_module $MODULES/mod_auth_openidc.so
# Two processes like nginx's two workers, threads for the 32 connections.
StartServers 2
ServerLimit 2
ThreadsPerChild 64
MaxRequestWorkers 128
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 60
OIDCProviderMetadataURL http://127.0.0.1:$PROVIDER_PORT/.well-known/openid-configuration
OIDCClientID bench-apache
OIDCClientSecret bench-apache-secret
OIDCRedirectURI http://127.0.0.1:$APACHE_PORT/redirect_uri
OIDCCryptoPassphrase $(head -c 24 /dev/urandom | base64)
OIDCSessionType client-cookie
OIDCPKCEMethod S256
OIDCScope "openid profile email"
OIDCSessionInactivityTimeout 28800
OIDCSessionMaxDuration 28800
OIDCStripCookies mod_auth_openidc_session mod_auth_openidc_session_chunks mod_auth_openidc_session_0 mod_auth_openidc_session_1 mod_auth_openidc_session_2 mod_auth_openidc_session_3
<Location />
  AuthType openid-connect
  Require valid-user
  RequestHeader set Authorization "Bearer %{OIDC_access_token}e" env=OIDC_access_token
</Location>
ProxyPass /redirect_uri !
ProxyPass / http://127.0.0.1:$UPSTREAM_PORT/ keepalive=On
CONF
cat > "$RUN/porteiro.yaml" <<CONF
server:
  listen: "127.0.0.1:$PORTEIRO_PORT"
  public_url: "http://127.0.0.1:$PORTEIRO_PORT"
provider:
  issuer: "http://127.0.0.1:$PROVIDER_PORT"
  client_id: bench-porteiro
  # oidc-provider-mock authenticates every client; Porteiro still sends PKCE.
  client_secret: bench-porteiro-secret
session:
  secrets: ["$("$PORTEIRO" keygen)"]
routes:
  - path: /public/
    upstream: "http://127.0.0.1:$UPSTREAM_PORT"
    auth: none
    strip_prefix: true
  - path: /upload
    upstream: "http://127.0.0.1:$SINK_PORT"
    timeout: 5m
  - path: /
    upstream: "http://127.0.0.1:$UPSTREAM_PORT"
    allow: { groups: [servidores] }
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
# Counts every answer that is not 200 (wrk itself counts only 4xx/5xx, so a redirect to a login
# page would pass unnoticed).
cat > "$RUN/count.lua" <<'LUA'
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) failures = 0 end
function response(status, headers, body) if status ~= 200 then failures = failures + 1 end end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("failures") end
  io.write("failures ", total, "\n")
end
LUA

PIDS=()
trap 'stop_started upstream proxy apache' EXIT
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }

.venv/bin/python -m oidc_provider_mock --port "$PROVIDER_PORT" --token-max-age 28800 \
  --user-claims '{"sub": "maria", "preferred_username": "maria", "email": "maria@example.org", "groups": ["servidores"]}' \
  >"$RUN/logs/provider.log" 2>&1 & PIDS+=($!)
wait_port $PROVIDER_PORT
nginx -c "$PWD/$RUN/upstream.conf" -p "$PWD/$RUN" -g 'daemon on;'
nginx -c "$PWD/$RUN/proxy.conf" -p "$PWD/$RUN" -g 'daemon on;'
apache2 -f "$PWD/$RUN/apache.conf" -k start
"$PORTEIRO" serve --config "$RUN/porteiro.yaml" 2>"$RUN/logs/porteiro.err" & PIDS+=($!)
PORTEIRO_PID=$!
python3 "$RUN/sink.py" "$SINK_PORT" & PIDS+=($!)
for port in $UPSTREAM_PORT $NGINX_PROXY_PORT $APACHE_PORT $PORTEIRO_PORT $SINK_PORT; do wait_port "$port"; done
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORTEIRO_PORT/ready" >/dev/null && break; sleep 0.1; done

echo "logging in through the real flow…" >&2
PORTEIRO_COOKIE=$(.venv/bin/python bench/login.py "http://127.0.0.1:$PORTEIRO_PORT/" maria)
APACHE_COOKIE=$(.venv/bin/python bench/login.py "http://127.0.0.1:$APACHE_PORT/" maria)
# Each gateway must hand the app a bearer token and keep its own cookies to itself.
check_headers() {
  local seen; seen=$(curl -sf -H "Cookie: $2" "http://127.0.0.1:$1/headers")
  echo "$seen" | grep -q '^authorization=Bearer ..' || { echo "port $1 sent no bearer token: $seen" >&2; exit 1; }
  echo "$seen" | grep -Eq 'cookie=.*(_porteiro|mod_auth_openidc_session)' && { echo "port $1 leaked its session cookie: $seen" >&2; exit 1; }
  return 0
}
check_headers "$APACHE_PORT" "$APACHE_COOKIE"
check_headers "$PORTEIRO_PORT" "$PORTEIRO_COOKIE"
curl -sf -H "Cookie: $PORTEIRO_COOKIE" "http://127.0.0.1:$PORTEIRO_PORT/headers" | grep -q '^groups=servidores' \
  || { echo "Porteiro sent no groups header" >&2; exit 1; }
echo "session cookie sizes: Porteiro ${#PORTEIRO_COOKIE} bytes, mod_auth_openidc ${#APACHE_COOKIE} bytes (Cookie header)" >&2

# The processes behind each row, for CPU and memory.
pids_of() {
  case "$1" in
    direct) echo "$(cat "$RUN/upstream.pid") $(pgrep -P "$(cat "$RUN/upstream.pid")" | tr '\n' ' ')" ;;
    nginx) echo "$(cat "$RUN/proxy.pid") $(pgrep -P "$(cat "$RUN/proxy.pid")" | tr '\n' ' ')" ;;
    apache) echo "$(cat "$RUN/apache.pid") $(pgrep -P "$(cat "$RUN/apache.pid")" | tr '\n' ' ')" ;;
    porteiro|porteiro-public) echo "$PORTEIRO_PID" ;;
  esac
}
url_of() {
  case "$1" in
    direct) echo "http://127.0.0.1:$UPSTREAM_PORT$2" ;;
    nginx) echo "http://127.0.0.1:$NGINX_PROXY_PORT$2" ;;
    apache) echo "http://127.0.0.1:$APACHE_PORT$2" ;;
    porteiro) echo "http://127.0.0.1:$PORTEIRO_PORT$2" ;;
    porteiro-public) echo "http://127.0.0.1:$PORTEIRO_PORT/public$2" ;;
  esac
}
cookie_of() { case "$1" in apache) echo "$APACHE_COOKIE" ;; porteiro) echo "$PORTEIRO_COOKIE" ;; *) echo "" ;; esac; }
cpu_ticks() { local t=0; for pid in $*; do t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat"))); done; echo $t; }
rss_kib() { local t=0; for pid in $*; do t=$((t + $(awk '/VmRSS/ {print $2}' "/proc/$pid/status"))); done; echo $t; }
to_us() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000; else print n * 1000000 }'; }
HZ=$(getconf CLK_TCK)

ROWS="direct nginx apache porteiro porteiro-public"
RESULTS="$RUN/results.tsv"
: > "$RESULTS"
for round in $(seq "$ROUNDS"); do
  for path in / /big; do
    for row in $ROWS; do
      pids=$(pids_of "$row")
      cookie=$(cookie_of "$row")
      before=$(cpu_ticks $pids)
      out=$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$RUN/count.lua" ${cookie:+-H "Cookie: $cookie"} "$(url_of "$row" "$path")")
      after=$(cpu_ticks $pids)
      requests=$(echo "$out" | awk '/requests in/ {print $1}')
      rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
      p50=$(to_us "$(echo "$out" | awk '$1 == "50%" {print $2}')")
      p99=$(to_us "$(echo "$out" | awk '$1 == "99%" {print $2}')")
      failures=$(echo "$out" | awk '/^failures/ {print $2}'); failures=${failures:-0}
      socket_errors=$(echo "$out" | awk -F'[ ,]+' '/Socket errors/ {print $4 + $6 + $8 + $10}'); socket_errors=${socket_errors:-0}
      cpu_us=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$round" "$path" "$row" "$rps" "$p50" "$p99" "$cpu_us" \
        "$(rss_kib $pids)" "$((failures + socket_errors))" >> "$RESULTS"
      echo "round $round $path $row: $rps req/s, $cpu_us µs CPU/req, $((failures + socket_errors)) failures" >&2
    done
  done
done

TABLE="$RUN/results.md"
{
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)."
  echo "Run: $(date -u +%Y-%m-%d), \`bash bench/run.sh\` (wrk -t1 -c$CONNECTIONS -d$DURATION, $ROUNDS interleaved rounds, medians; CPU is the server's user+system time per request)."
  echo
  python3 - "$RESULTS" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    _, path, row, rps, p50, p99, cpu, rss, failures = line.rstrip("\n").split("\t")
    rows[(path, row)].append((float(rps), float(p50), float(p99), float(cpu), int(rss), int(failures)))
names = {"direct": "nginx upstream alone", "nginx": "nginx reverse proxy (no auth)", "apache": "Apache + mod_auth_openidc (logged in)",
         "porteiro": "Porteiro (logged in: cookie, policy, bearer)", "porteiro-public": "Porteiro (public route)"}
print("| path | row | req/s | p50 µs | p99 µs | server CPU µs/req | peak RSS MiB | non-200 | vs nginx proxy | vs mod_auth_openidc |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for path in ["/", "/big"]:
    med = lambda row, i: statistics.median(v[i] for v in rows[(path, row)])
    nginx, apache = med("nginx", 0), med("apache", 0)
    for row in names:
        values = rows[(path, row)]
        print(f"| {path} | {names[row]} | {med(row, 0):,.0f} | {med(row, 1):,.0f} | {med(row, 2):,.0f} | {med(row, 3):.1f} | "
              f"{max(v[4] for v in values) / 1024:.1f} | {sum(v[5] for v in values)} | {med(row, 0) / nginx:.2f}× | {med(row, 0) / apache:.2f}× |")
PY
  echo
  rss() { awk '/VmRSS/ {print $2}' "/proc/$PORTEIRO_PID/status"; }
  exec 4> >(.venv/bin/python bench/idle.py "$PORTEIRO_PORT" 1000 "$PORTEIRO_COOKIE" > "$RUN/idle.out")
  for _ in $(seq 300); do [ -s "$RUN/idle.out" ] && break; sleep 0.1; done
  echo "1,000 idle keep-alive clients (each after one logged-in request; $(cat "$RUN/idle.out") answered 200): Porteiro RSS $(( $(rss) / 1024 )) MiB."
  exec 4>&-
  sleep 1
  before=$(rss)
  down=$(curl -s -o /dev/null -H "Cookie: $PORTEIRO_COOKIE" -w '%{http_code} %{size_download} %{time_total}' "http://127.0.0.1:$PORTEIRO_PORT/1g")
  after_down=$(rss)
  up=$(curl -s -X POST -T "$RUN/www/1g" -H "Cookie: $PORTEIRO_COOKIE" -H 'Content-Type: application/octet-stream' -H 'Expect:' \
    -w ' %{http_code} %{time_total}' "http://127.0.0.1:$PORTEIRO_PORT/upload")
  after_up=$(rss)
  echo "1 GiB through Porteiro, logged in: download $(echo "$down" | awk '{printf "(%s) %d bytes in %.1f s", $1, $2, $3}'), upload $(echo "$up" | awk '{printf "(%s) %d bytes acknowledged in %.1f s", $2, $1, $3}')."
  echo "Porteiro RSS: $((before / 1024)) MiB before, $((after_down / 1024)) MiB after the download, $((after_up / 1024)) MiB after the upload (growth $(( (after_up - before) / 1024 )) MiB)."
} > "$TABLE"
echo
cat "$TABLE"

if [ "${WRITE_DOCS:-0}" = 1 ]; then
  python3 bench/write_docs.py bench/run.sh "$TABLE"
fi
