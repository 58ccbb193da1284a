# Sourced by the bench scripts: the "legacy app" every gateway forwards to — nginx serving a
# 13-byte page on 127.0.0.1:$2, run from folder $1 (its pid in $1/upstream.pid).
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
