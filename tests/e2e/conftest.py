"""Real processes for the end-to-end tests: two independent OpenID providers, an upstream app
that echoes what it receives, and the Porteiro binary in front of it."""
import html
import http.server
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
PORTEIRO_BIN = os.environ.get("PORTEIRO_BIN", str(ROOT / ".build" / "debug" / "porteiro"))
COOKIE_SECRET = "LL6RmrB6UvlvV2TTpm1B3CMt0E3OJH6y7OqdVldQnug="
TOKEN_SECONDS = 5


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

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def upstream():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


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
    users = [
        {"sub": "maria", "preferred_username": "maria", "email": "maria@example.org", "groups": ["servidores"]},
        {"sub": "joao", "preferred_username": "joao", "email": "joao@example.org", "groups": []},
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
        return Provider("django", issuer, "porteiro-confidential", "confidential-s3cret", process)
    return Provider("django", issuer, "porteiro-public", None, process)


def start_dev_provider(gateway_port, port=None, public_url=None):
    """`porteiro dev-provider` (users maria/maria, joao/joao) for the gateway on `gateway_port`; its
    issuer is `public_url` when a proxy sits in front of it. A restart makes a new signing key."""
    port = port or free_port()
    args = [PORTEIRO_BIN, "dev-provider", "--port", str(port), "--client-id", "porteiro-dev",
            "--gateway", f"http://127.0.0.1:{gateway_port}", "--token-lifetime", f"{TOKEN_SECONDS}s"]
    if public_url:
        args += ["--public-url", public_url]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_up(f"http://127.0.0.1:{port}/.well-known/openid-configuration", process)
    return Provider("dev", public_url or f"http://127.0.0.1:{port}", "porteiro-dev", None, process)


class Porteiro:
    def __init__(self, url, process, log):
        self.url, self.process, self.log = url, process, log

    def log_text(self):
        return self.log.read_text()


def write_config(tmp, provider, upstream, port, public_url=None, trusted_proxies=(), server_extra="", provider_extra="",
                 sections="", session_store="cookie"):
    secret_line = f'  client_secret: "{provider.client_secret}"\n' if provider.client_secret else ""
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
  refresh_before: 3s
  store: {session_store}
{sections}routes:
  - path: /public/
    upstream: "{upstream}"
    auth: none
  - path: /admin/
    upstream: "{upstream}"
    methods: [GET]
    allow: {{ groups: [servidores] }}
  - path: /opt/
    upstream: "{upstream}"
    auth: optional
  - path: /api/
    upstream: "{upstream}"
    auth: bearer
    audiences: ["{provider.client_id}"]
    cors_origins: ["https://spa.example.org"]
  - path: /api-or-session/
    upstream: "{upstream}"
    auth: bearer
    audiences: [some-api]
    allow_session: true
  - path: /
    upstream: "{upstream}"
    skip_auth: [{{ path: /app/health }}]
""")
    return config


def start_porteiro(tmp, provider, upstream, port, public_url=None, trusted_proxies=(), **extra):
    config = write_config(tmp, provider, upstream, port, public_url, trusted_proxies, **extra)
    log = tmp / f"porteiro-{port}.log"
    process = subprocess.Popen([PORTEIRO_BIN, "serve", "--config", str(config)],
                               env=dict(os.environ, PORTEIRO_COOKIE_SECRET=COOKIE_SECRET),
                               stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
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
