#!/usr/bin/env bash
# The cost of back-channel logout on the request path: the same logged-in route through two
# Porteiros side by side, one with the in-memory revocation store (nothing revoked) and one with
# the PostgreSQL store holding 100,000 revocations kept in step by LISTEN/NOTIFY. Interleaved
# rounds of wrk; prints req/s and the gateway's CPU per request for each.
#   bash bench/revocation.sh           # 3 rounds × 10 s
#   ROUNDS=5 DURATION=20s bash bench/revocation.sh
#   WRITE_DOCS=1 bash bench/revocation.sh   # also replaces its table in docs/performance.md
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3} DURATION=${DURATION:-10s} REVOKED=${REVOKED:-100000}
RUN=bench/.revocation
UPSTREAM_PORT=18280 PROVIDER_PORT=18281 MEMORY_PORT=18282 POSTGRES_PORT=18283
. bench/common.sh
need_packages nginx-light wrk curl postgresql
release_porteiro
rm -rf "$RUN"
write_upstream_conf "$RUN" "$UPSTREAM_PORT"
PG_DIR=$(mktemp -d /tmp/porteiro-bench-pg.XXXXXX)
PIDS=()
cleanup() { stop_started upstream; bash scripts/postgres.sh stop "$PG_DIR"; rm -rf "$PG_DIR"; }
trap cleanup EXIT
DATABASE_URL=$(bash scripts/postgres.sh start "$PG_DIR")

SECRET=$("$PORTEIRO" keygen)
config() { # name port store
  cat > "$RUN/$1.yaml" <<CONF
server: { listen: "127.0.0.1:$2", public_url: "http://127.0.0.1:$MEMORY_PORT" }
logging: { level: info, access_log: false }
provider: { issuer: "http://127.0.0.1:$PROVIDER_PORT", client_id: bench }
session: { secrets: ["$SECRET"] }
database: { url: "$DATABASE_URL" }
revocation: { store: $3 }
routes:
  - { path: /, upstream: "http://127.0.0.1:$UPSTREAM_PORT", allow: { groups: [servidores] } }
CONF
}
config memory $MEMORY_PORT memory
config postgres $POSTGRES_PORT postgres

"$PORTEIRO" dev-provider --port "$PROVIDER_PORT" --client-id bench --gateway "http://127.0.0.1:$MEMORY_PORT" \
  --token-lifetime 1h >"$RUN/logs/provider.log" 2>&1 & PIDS+=($!)
nginx -c "$PWD/$RUN/upstream.conf" -p "$PWD/$RUN" -g 'daemon on;'
"$PORTEIRO" serve --config "$RUN/memory.yaml" 2>"$RUN/logs/memory.err" & PIDS+=($!); MEMORY_PID=$!
"$PORTEIRO" serve --config "$RUN/postgres.yaml" 2>"$RUN/logs/postgres.err" & PIDS+=($!); POSTGRES_PID=$!
for port in $MEMORY_PORT $POSTGRES_PORT; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/ready" >/dev/null && break; sleep 0.2; done
done
# Revocations of other sessions, written straight into the shared table, then one NOTIFY.
psql -q "$DATABASE_URL" -c "INSERT INTO porteiro_revocations (kind, key, cutoff, expires_at)
  SELECT CASE WHEN n % 2 = 0 THEN 'sid' ELSE 'sub' END, 'other-' || n, extract(epoch from now())::bigint,
         extract(epoch from now())::bigint + 3600 FROM generate_series(1, $REVOKED) n; NOTIFY porteiro_revocations;"
for _ in $(seq 50); do grep -q "revoked=$REVOKED" "$RUN/logs/postgres.err" && break; sleep 0.2; done
grep -q "revoked=$REVOKED" "$RUN/logs/postgres.err" || { echo "the PostgreSQL replica did not load $REVOKED revocations" >&2; exit 1; }
COOKIE=$(.venv/bin/python bench/login.py "http://127.0.0.1:$MEMORY_PORT/" maria)

HZ=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for round in $(seq "$ROUNDS"); do
  for row in memory postgres; do
    if [ $row = memory ]; then port=$MEMORY_PORT pid=$MEMORY_PID; else port=$POSTGRES_PORT pid=$POSTGRES_PID; fi
    before=$(cpu_ticks $pid)
    out=$(wrk -t1 -c32 -d"$DURATION" -H "Cookie: $COOKIE" -H "Accept: text/html" "http://127.0.0.1:$port/")
    after=$(cpu_ticks $pid)
    requests=$(echo "$out" | awk '/requests in/ {print $1}')
    non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
    rps=$(echo "$out" | awk '/Requests\/sec/ {printf "%.0f", $2}')
    cpu=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
    printf '%s\t%s\t%s\t%s\n' "$row" "$rps" "$cpu" "${non2xx:-0}" >> "$RUN/results.tsv"
    echo "round $round $row: $rps req/s, $cpu µs CPU/req, non-2xx ${non2xx:-0}" >&2
  done
done
python3 - "$RUN/results.tsv" "$ROUNDS" "$DURATION" "$REVOKED" > "$RUN/table.md" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    row, rps, cpu, bad = line.split()
    rows.setdefault(row, []).append((float(rps), float(cpu), int(bad)))
print(f"`bash bench/revocation.sh`: wrk -t1 -c32 -d{sys.argv[3]}, {sys.argv[2]} interleaved rounds, medians; "
      f"the PostgreSQL row holds {int(sys.argv[4]):,} revocations of other sessions.")
print()
print("| revocation store | req/s | gateway CPU µs/req | non-2xx |")
print("| --- | ---: | ---: | ---: |")
for row in ["memory", "postgres"]:
    values = rows[row]
    print(f"| {row} | {statistics.median(v[0] for v in values):,.0f} | {statistics.median(v[1] for v in values):.1f} | {sum(v[2] for v in values)} |")
PY
cat "$RUN/table.md"
if [ "${WRITE_DOCS:-0}" = 1 ]; then
  python3 bench/write_docs.py bench/revocation.sh "$RUN/table.md"
fi
