#!/usr/bin/env bash
# A private PostgreSQL for the tests: its own data directory and loopback port, nothing shared
# with a system cluster. Run as the `postgres` system user when started by root (initdb refuses
# root). Usage:
#   scripts/postgres.sh start DIR   # creates the cluster on first use; prints its postgres:// URL
#   scripts/postgres.sh stop DIR
set -euo pipefail
command=${1:?start or stop}
dir=${2:?data directory}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$bin" ]; then
  echo "PostgreSQL is not installed: run sudo apt-get install -y postgresql" >&2
  exit 1
fi
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

case $command in
start)
  if [ ! -f "$dir/data/PG_VERSION" ]; then
    mkdir -p "$dir"
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' > "$dir/port"
    head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$dir/password"
    [ "$(id -u)" -ne 0 ] || chown -R postgres "$dir"
    as_postgres "$bin/initdb" -D "$dir/data" -U porteiro --pwfile="$dir/password" --auth=scram-sha-256 -E UTF8 >/dev/null
  fi
  port=$(cat "$dir/port")
  as_postgres "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1" start >/dev/null
  echo "postgres://porteiro:$(cat "$dir/password")@127.0.0.1:$port/postgres?sslmode=disable"
  ;;
stop)
  as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  ;;
*)
  echo "usage: $0 start|stop DIR" >&2
  exit 2
  ;;
esac
