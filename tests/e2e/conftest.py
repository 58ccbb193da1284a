"""Real processes for the end-to-end tests: two independent OpenID providers, an upstream app
that echoes what it receives, and the Porteiro binary in front of it."""
import base64
import html
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import socketserver
import threading
import time
import warnings
import wsgiref.simple_server
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
PORTEIRO_BIN = os.environ.get("PORTEIRO_BIN", str(ROOT / ".build" / "debug" / "porteiro"))
COOKIE_SECRET = "LL6RmrB6UvlvV2TTpm1B3CMt0E3OJH6y7OqdVldQnug="
TOKEN_SECONDS = 5
# What a browser sends with a request it makes from one of this site's own pages (a click on the
# sign-out link): /oauth2/sign_out acts only on same-origin requests.
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url, process, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode} before {url} answered")
        try:
            # Health checks only: the TLS demos use a self-signed test certificate.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if requests.get(url, timeout=1, verify=False).status_code == 200:
                    return
        except requests.RequestException:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer 200 within {timeout}s")


class Echo(http.server.BaseHTTPRequestHandler):
    """The legacy app: answers with what it was sent, as JSON."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        body = json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def upstream():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def wsgi_echo(environ, start_response):
    """A WSGI app (as Django or Flask would see the request): its environ's HTTP_* keys, as JSON.
    WSGI folds `-` and `_` alike, so X-Forwarded-User and X_Forwarded_User are one key here."""
    body = json.dumps({key: value for key, value in environ.items() if key.startswith("HTTP_")}).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class _QuietWSGIHandler(wsgiref.simple_server.WSGIRequestHandler):
    def log_message(self, *args):
        pass


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, wsgiref.simple_server.WSGIServer):
    daemon_threads = True


@pytest.fixture(scope="session")
def wsgi_upstream():
    """Python's own wsgiref server running `wsgi_echo`."""
    server = wsgiref.simple_server.make_server("127.0.0.1", 0, wsgi_echo, server_class=_ThreadingWSGIServer,
                                               handler_class=_QuietWSGIHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


class ScriptedUpstream:
    """An app on a raw socket: `respond(head, connection)` writes whatever bytes a test wants
    (including answers no HTTP library would send); every request head received is kept."""

    def __init__(self, respond):
        self.respond = respond
        self.heads = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(connection,), daemon=True).start()

    def _handle(self, connection):
        with connection:
            connection.settimeout(10)
            data = b""
            try:
                while b"\r\n\r\n" not in data:
                    chunk = connection.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
                self.heads.append(head)
                self.respond(head, connection)
            except OSError:
                pass

    def close(self):
        self.listener.close()


class RawResponse:
    def __init__(self, data):
        head, _, self.body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status_line = lines[0]
        self.status = int(lines[0].split(" ")[1]) if len(lines[0].split(" ")) > 1 else 0
        self.headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:] if ":" in line]

    def header(self, name):
        return next((value for key, value in self.headers if key.lower() == name.lower()), None)

    def all(self, name):
        return [value for key, value in self.headers if key.lower() == name.lower()]


def raw_request(port, request, timeout=10):
    """Sends `request` (bytes, or text with `\n` line ends) exactly as written — no client library
    re-encodes the target or the headers — and reads one answer: up to its Content-Length, else
    until the server closes the connection or goes quiet for `timeout` seconds."""
    if isinstance(request, str):
        request = request.replace("\n", "\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as client:
        client.sendall(request)
        data = b""
        try:
            while chunk := client.recv(65536):
                data += chunk
                if b"\r\n\r\n" in data:
                    length = RawResponse(data).header("Content-Length")
                    if length is not None and len(data.split(b"\r\n\r\n", 1)[1]) >= int(length):
                        break
        except (socket.timeout, ConnectionResetError):
            pass
    if not data:
        raise AssertionError("the connection closed without an answer")
    return RawResponse(data)


def make_certificate(tmp):
    """A self-signed certificate for 127.0.0.1 (PEM files), for Porteiro's server.tls."""
    certificate, key = tmp / "cert.pem", tmp / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(certificate)], check=True, capture_output=True)
    return certificate, key


def tls_server_extra(certificate, key):
    """`server:` lines serving HTTPS (and HTTP/2 by ALPN) with this certificate."""
    return f'  tls:\n    certificate_file: "{certificate}"\n    key_file: "{key}"\n'


def cookie_header(session):
    """The session's cookies as one `Cookie` header value (for raw requests)."""
    return "; ".join(f"{c.name}={c.value}" for c in session.cookies)


class Provider:
    def __init__(self, kind, issuer, client_id, client_secret, process):
        self.kind, self.issuer, self.client_id, self.client_secret, self.process = (
            kind, issuer, client_id, client_secret, process)

    def continue_login(self, session, page, user):
        """Finishes a login started before another tab signed in at the provider: Django rotates
        its CSRF token at login, so that tab retries the authorization request, which the provider
        now answers at once from its own session."""
        if self.kind == "mock":
            return self.log_in(session, page, user)
        return session.get(page.history[0].headers["Location"], headers={"Accept": "text/html"}, timeout=10)

    def log_in(self, session, page, user):
        """Completes the provider's own login page the way a person would."""
        if self.kind == "mock":
            return session.post(page.url, data={"sub": user}, timeout=10)
        if self.kind == "dev":
            form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
            form = {name: html.unescape(value) for name, value in form.items()}
            return session.post(self.issuer + "/authorize", data={**form, "username": user, "password": user}, timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        next_url = html.unescape(re.search(r'name="next" value="([^"]*)"', page.text).group(1))
        form = {"csrfmiddlewaretoken": token, "username": user, "password": f"{user}-pw", "next": next_url}
        return session.post(page.url, data=form, headers={"Referer": page.url}, timeout=10)


def start_mock_provider(port=None):
    port = port or free_port()
    # maria confirmed her address at the IdP, joao never did: email rules must admit only maria.
    users = [
        {"sub": "maria", "preferred_username": "maria", "email": "maria@example.org", "email_verified": True,
         "groups": ["servidores"]},
        {"sub": "joao", "preferred_username": "joao", "email": "joao@example.org", "email_verified": False, "groups": []},
    ]
    args = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port), "--token-max-age", str(TOKEN_SECONDS)]
    for user in users:
        args += ["--user-claims", json.dumps(user)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    issuer = f"http://127.0.0.1:{port}"
    wait_until_up(issuer + "/.well-known/openid-configuration", process)
    return Provider("mock", issuer, "porteiro-mock", "mock-secret", process)


def start_django_provider(tmp, porteiro_port, confidential=False, scheme="http"):
    port = free_port()
    here = Path(__file__).resolve().parent / "django_op"
    state = tmp / f"django-op-{port}"
    public_url = f"{scheme}://127.0.0.1:{porteiro_port}"
    subprocess.run([sys.executable, str(here / "setup_op.py"), str(state), public_url + "/oauth2/callback", public_url + "/"],
                   check=True, cwd=here)
    env = dict(os.environ, OP_STATE_DIR=str(state), OP_ACCESS_TOKEN_SECONDS=str(TOKEN_SECONDS))
    process = subprocess.Popen(
        [sys.executable, str(here / "manage.py"), "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=here, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    issuer = f"http://127.0.0.1:{port}/o"
    wait_until_up(issuer + "/.well-known/openid-configuration", process)
    if confidential:
        provider = Provider("django", issuer, "porteiro-confidential", "confidential-s3cret", process)
    else:
        provider = Provider("django", issuer, "porteiro-public", None, process)
    provider.state = state
    return provider


def django_shell(provider, code):
    """Runs Python in the Django provider's project (its ORM, its database), as an admin would."""
    here = Path(__file__).resolve().parent / "django_op"
    subprocess.run([sys.executable, str(here / "manage.py"), "shell", "-c", code], cwd=here, check=True,
                   env=dict(os.environ, OP_STATE_DIR=str(provider.state)), capture_output=True, timeout=60)


def start_dev_provider(gateway_port, port=None, public_url=None, refresh_tokens="rotate", exchange_audiences=(),
                       callback_path=None):
    """`porteiro dev-provider` (users maria/maria, joao/joao) for the gateway on `gateway_port`; its
    issuer is `public_url` when a proxy sits in front of it. A restart makes a new signing key.
    Its access tokens are RS256 JWTs (`typ: Bearer`, `aud` = its client id). `refresh_tokens`:
    rotate (the default: a new one with every refresh), reuse (refresh answers carry none; the
    first stays good) or none (no refresh tokens at all)."""
    port = port or free_port()
    args = [PORTEIRO_BIN, "dev-provider", "--port", str(port), "--client-id", "porteiro-dev",
            "--gateway", f"http://127.0.0.1:{gateway_port}", "--token-lifetime", f"{TOKEN_SECONDS}s"]
    if public_url:
        args += ["--public-url", public_url]
    if refresh_tokens != "rotate":  # only when asked: older binaries know no such option
        args += ["--refresh-tokens", refresh_tokens]
    for audience in exchange_audiences:  # RFC 8693 token exchange for these audiences
        args += ["--exchange-audience", audience]
    if callback_path:  # the gateway's redirect path for a provider that is not its first
        args += ["--callback-path", callback_path]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_up(f"http://127.0.0.1:{port}/.well-known/openid-configuration", process)
    return Provider("dev", public_url or f"http://127.0.0.1:{port}", "porteiro-dev", None, process)


def stop(*processes):
    """Ends processes a test started — every one of them, even when one does not heed SIGTERM (a
    gateway that trapped may hang in its crash report), so none outlives the test."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class Porteiro:
    def __init__(self, url, process, log):
        self.url, self.process, self.log = url, process, log

    def log_text(self):
        return self.log.read_text()


def jwt_claims(token):
    """The payload of a compact JWS, read without verifying (what the app would decode)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


DEFAULT_ROUTES = """\
  - path: /public/
    upstream: "{upstream}"
    auth: none
  - path: /admin/
    upstream: "{upstream}"
    methods: [GET]
    allow: {{ groups: [servidores] }}
  - path: /by-email/
    upstream: "{upstream}"
    allow: {{ emails: [maria@example.org, joao@example.org] }}
  - path: /by-domain/
    upstream: "{upstream}"
    allow: {{ email_domains: [example.org] }}
  - path: /opt/
    upstream: "{upstream}"
    auth: optional
  - path: /api/
    upstream: "{upstream}"
    auth: bearer
    audiences: ["{client_id}"]
    cors_origins: ["https://spa.example.org"]
  - path: /api-or-session/
    upstream: "{upstream}"
    auth: bearer
    audiences: [some-api]
    allow_session: true
  - path: /
    upstream: "{upstream}"
    skip_auth: [{{ path: /app/health }}]
"""


def write_config(tmp, provider, upstream, port, public_url=None, trusted_proxies=(), server_extra="", provider_extra="",
                 sections="", session_store="cookie", refresh_before="3s", session_extra="", routes=None):
    """A Porteiro config for `provider` in front of `upstream`. `refresh_before=None` leaves
    `session.refresh_before` at its shipped default (60s); `routes` replaces the route list (YAML
    items, indented by two spaces; `{upstream}` and `{client_id}` are filled in)."""
    secret_line = f'  client_secret: "{provider.client_secret}"\n' if provider.client_secret else ""
    refresh_line = f"  refresh_before: {refresh_before}\n" if refresh_before else ""
    public_url = public_url or f"http://127.0.0.1:{port}"
    config = tmp / f"porteiro-{port}.yaml"
    config.write_text(f"""
server:
  listen: "127.0.0.1:{port}"
  public_url: "{public_url}"
  trusted_proxies: {json.dumps(list(trusted_proxies))}
  metrics_path: /metrics
{server_extra}logging:
  level: debug
provider:
  issuer: "{provider.issuer}"
  client_id: "{provider.client_id}"
{secret_line}  scopes: [openid, profile, email]
  clock_skew: 1s
{provider_extra}session:
  secrets: ["${{PORTEIRO_COOKIE_SECRET}}"]
{refresh_line}  store: {session_store}
{session_extra}{sections}routes:
{(routes or DEFAULT_ROUTES).format(upstream=upstream, client_id=provider.client_id)}""")
    return config


def start_porteiro(tmp, provider, upstream, port, public_url=None, trusted_proxies=(), **extra):
    config = write_config(tmp, provider, upstream, port, public_url, trusted_proxies, **extra)
    log = tmp / f"porteiro-{port}.log"
    process = subprocess.Popen([PORTEIRO_BIN, "serve", "--config", str(config)],
                               env=dict(os.environ, PORTEIRO_COOKIE_SECRET=COOKIE_SECRET),
                               stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"{'https' if 'tls:' in extra.get('server_extra', '') else 'http'}://127.0.0.1:{port}"
    wait_until_up(url + "/ready", process)
    return Porteiro(url, process, log)


@pytest.fixture(scope="module", params=["mock", "django-public", "django-confidential"])
def stack(request, tmp_path_factory, upstream):
    """A provider and a Porteiro configured for it."""
    if not Path(PORTEIRO_BIN).exists():
        pytest.fail(f"{PORTEIRO_BIN} is missing: run `swift build` first (scripts/test.sh does)")
    tmp = tmp_path_factory.mktemp(request.param)
    port = free_port()
    if request.param == "mock":
        provider = start_mock_provider()
    else:
        provider = start_django_provider(tmp, port, confidential=request.param == "django-confidential")
    porteiro = start_porteiro(tmp, provider, upstream, port)
    yield provider, porteiro
    for process in (porteiro.process, provider.process):
        process.terminate()
        process.wait(timeout=10)
