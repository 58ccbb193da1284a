"""`token_exchange`: each app gets a token of its own (RFC 8693), against two independent
implementations of the grant — the development provider and an idpyoidc provider
(tests/e2e/exchange_op) — with their short-lived tokens (5 s) and the shipped refresh margin."""
import time

import pytest
import requests
from conftest import TOKEN_SECONDS, free_port, jwt_claims, start_dev_provider, start_porteiro, stop
from exchange_provider import start_exchange_provider
from test_login import HTML, log_in

ROUTES = """\
  - path: /billing/
    upstream: "{upstream}"
    token_exchange: {{ audience: billing }}
  - path: /forbidden/
    upstream: "{upstream}"
    token_exchange: {{ audience: forbidden-app }}
  - path: /
    upstream: "{upstream}"
"""


@pytest.fixture(scope="module", params=["dev", "idpyoidc"])
def stack(request, tmp_path_factory, upstream):
    tmp = tmp_path_factory.mktemp(f"exchange-{request.param}")
    port = free_port()
    if request.param == "dev":
        provider = start_dev_provider(port, exchange_audiences=["billing"])
    else:
        provider = start_exchange_provider(tmp, f"http://127.0.0.1:{port}", token_seconds=TOKEN_SECONDS)
    porteiro = start_porteiro(tmp, provider, upstream, port, routes=ROUTES, refresh_before=None)
    yield provider, porteiro
    stop(porteiro.process, provider.process)


def authorization(session, porteiro, path):
    response = session.get(porteiro.url + path, headers=HTML, allow_redirects=False, timeout=10)
    assert response.status_code == 200, (response.status_code, response.text[:300])
    return response.json()["headers"]["authorization"].split(" ", 1)[1]


def audiences(token):
    aud = jwt_claims(token)["aud"]
    return aud if isinstance(aud, list) else [aud]


def test_the_app_gets_a_token_for_itself_alone_and_it_is_remembered(stack):
    provider, porteiro = stack
    session, echo = log_in(provider, porteiro)
    own = echo["headers"]["authorization"].split(" ", 1)[1]
    billing = authorization(session, porteiro, "/billing/x")
    assert billing != own, "the session's token never reaches an exchange route"
    assert audiences(billing) == ["billing"] and provider.client_id not in audiences(billing)
    assert jwt_claims(billing)["sub"] == jwt_claims(own)["sub"]
    assert authorization(session, porteiro, "/billing/y") == billing, "remembered, not exchanged per request"
    assert authorization(session, porteiro, "/app/z") == own, "other routes keep the session's token"


def test_a_refused_exchange_is_a_502_never_the_sessions_token(stack):
    provider, porteiro = stack
    session, _ = log_in(provider, porteiro)
    refused = session.get(porteiro.url + "/forbidden/x", headers=HTML, allow_redirects=False, timeout=10)
    assert refused.status_code == 502, refused.text[:300]
    assert "did not issue a token for this application" in refused.text
    assert refused.headers["Content-Type"].startswith("text/html"), "Porteiro's page: the app was never called"
    log = porteiro.log_text()
    assert 'msg="token exchange refused"' in log and "route=1" in log and "audience=forbidden-app" in log
    assert authorization(session, porteiro, "/billing/x"), "other exchange routes are unaffected"


def test_an_exchanged_token_is_replaced_before_it_expires(stack):
    """Tokens live 5 s: over 9 s of requests the app sees several exchanged tokens, each still
    valid when it arrives (the shipped margin shrinks to half a token's lifetime)."""
    provider, porteiro = stack
    session, _ = log_in(provider, porteiro)
    seen = set()
    started = time.time()
    while time.time() - started < 9:
        token = authorization(session, porteiro, "/billing/x")
        assert jwt_claims(token)["exp"] > time.time(), "an expired exchanged token reached the app"
        assert audiences(token) == ["billing"]
        seen.add(token)
        time.sleep(0.25)
    assert len(seen) >= 2, "a token due for renewal was exchanged again"
