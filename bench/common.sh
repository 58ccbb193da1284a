# Sourced by the bench scripts: what they all need.

# Installs the Debian packages among "$@" that are missing.
need_packages() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return
  echo "installing ${missing[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

# The test tools' venv (bench/login.py drives the login) and a release build; sets PORTEIRO.
release_porteiro() {
  .venv/bin/python -c "import requests" 2>/dev/null || {
    python3 -m venv .venv && .venv/bin/pip install -q -r tests/e2e/requirements.txt; }
  swift build -c release --product porteiro 2>&1 | grep -E "error" >&2 || true
  PORTEIRO=$(swift build -c release --show-bin-path)/porteiro
}

# Stops what the script started: the processes in PIDS, and the daemons whose pid files
# $RUN/<name>.pid are named in "$@".
stop_started() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for name in "$@"; do
    [ -f "$RUN/$name.pid" ] && kill "$(cat "$RUN/$name.pid")" 2>/dev/null || true
  done
}

# The "legacy app" every gateway forwards to: nginx serving a 13-byte page on 127.0.0.1:$2, run
# from folder $1 (its pid in $1/upstream.pid).
write_upstream_conf() {
  local run=$1 port=$2
  mkdir -p "$run/www" "$run/logs"
  printf 'Hello, world\n' > "$run/www/index.html"
  cat > "$run/upstream.conf" <<CONF
worker_processes 1;
pid $PWD/$run/upstream.pid;
error_log $PWD/$run/logs/upstream.err warn;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 127.0.0.1:$port; root $PWD/$run/www; location / { try_files /index.html =404; } } }
CONF
}
