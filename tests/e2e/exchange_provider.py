"""A third, independent OpenID provider for the end-to-end tests, one that answers RFC 8693 token
exchange: IdentityPython's idpyoidc server, run by exchange_op/server.py (see there for what is
the library's and what is ours).

    provider = start_exchange_provider(tmp, "http://127.0.0.1:8123", token_seconds=60)

Client `porteiro-tx` / `porteiro-tx-secret` (client_secret_basic or client_secret_post), PKCE S256
required, redirect URI GATEWAY/oauth2/callback. Users maria / maria-pw and joao / joao-pw.
Exchange audiences `billing` and `reports`; any other is refused (400 invalid_target).
"""
import re
import subprocess
import sys
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
SERVER = HERE / "exchange_op" / "server.py"
CLIENT_ID = "porteiro-tx"
CLIENT_SECRET = "porteiro-tx-secret"
PASSWORDS = {"maria": "maria-pw", "joao": "joao-pw"}
AUDIENCES = ("billing", "reports")
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"


class ExchangeProvider:
    kind = "exchange"

    def __init__(self, issuer, process, state, log):
        self.issuer, self.process, self.state, self.log = issuer, process, state, log
        self.client_id, self.client_secret = CLIENT_ID, CLIENT_SECRET
        self.audiences = AUDIENCES

    def log_in(self, session, page, user, password=None):
        """Completes the login page (`page`: the response that landed on it) as a person would: the
        form posts the hidden `token` with `username` and `password` to /verify/user, which
        answers with a redirect to the redirect URI (followed by requests)."""
        token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
        action = re.search(r'<form[^>]*action="([^"]+)"', page.text).group(1)
        form = {"token": token, "username": user, "password": password or PASSWORDS.get(user, user)}
        return session.post(requests.compat.urljoin(page.url, action), data=form, timeout=10)

    continue_login = log_in

    def log_text(self):
        return self.log.read_text()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_exchange_provider(tmp_dir, gateway_url, token_seconds=60, redirect_uris=(), audiences=None,
                            refresh_tokens="always", timeout=30):
    """Starts the provider on a free port (it binds port 0 and reports the port it got), waits
    until its discovery document answers, and returns an ExchangeProvider. Its log (the library's,
    at INFO) is `provider.log`, in `tmp_dir`."""
    tmp_dir = Path(tmp_dir)
    tmp_dir.mkdir(parents=True, exist_ok=True)
    state = Path(tmp_dir) / f"exchange-op-{time.monotonic_ns()}"
    state.mkdir()
    args = [sys.executable, str(SERVER), "--state-dir", str(state), "--token-lifetime", str(int(token_seconds)),
            "--refresh-tokens", refresh_tokens]
    for url in [gateway_url] if isinstance(gateway_url, str) else (gateway_url or []):
        args += ["--gateway-url", url]
    for uri in redirect_uris:
        args += ["--redirect-uri", uri]
    for audience in audiences or ():
        args += ["--audience", audience]
    log = state / "provider.log"
    process = subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT, cwd=SERVER.parent)
    port_file = state / "port"
    deadline = time.time() + timeout
    while not port_file.exists():
        if process.poll() is not None:
            raise RuntimeError(f"exchange provider exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if time.time() > deadline:
            process.kill()
            raise RuntimeError(f"exchange provider did not start within {timeout}s:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)
    issuer = f"http://127.0.0.1:{int(port_file.read_text())}"
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"exchange provider exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if requests.get(issuer + "/.well-known/openid-configuration", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.time() > deadline:
            process.kill()
            raise RuntimeError(f"{issuer} did not answer within {timeout}s")
        time.sleep(0.05)
    provider = ExchangeProvider(issuer, process, state, log)
    provider.audiences = tuple(audiences or AUDIENCES)
    return provider
