"""Access-token expiry against the development provider in its three refresh-token behaviours:
rotate (a new refresh token with every refresh, as Keycloak), reuse (refresh answers carry none,
the first stays good) and none (no refresh tokens at all). Tokens live 5 s. Whatever the IdP
does and whatever session.refresh_before says (the shipped 60 s default, longer than the token's
whole life, is shrunk to half of it), the app never receives an access token past its `exp`:
it is refreshed in time, or, when nothing can renew it, the session ends — a navigation goes to
the IdP (which signs the browser back in silently), an API call gets 401."""
import time

import pytest
import requests
from conftest import free_port, jwt_claims, start_dev_provider, start_porteiro, stop
from test_login import HTML, log_in, metrics

JSON = {"Accept": "application/json"}


@pytest.fixture
def gateway(request, tmp_path, upstream):
    """(refresh mode, refresh_before or None for the shipped default) → dev provider + Porteiro."""
    mode, refresh_before = request.param
    port = free_port()
    provider = start_dev_provider(port, refresh_tokens=mode)
    porteiro = start_porteiro(tmp_path, provider, upstream, port, refresh_before=refresh_before)
    yield mode, provider, porteiro
    stop(porteiro.process, provider.process)


def token_seen_by_the_app(response):
    assert response.status_code == 200, response.text[:300]
    return response.json()["headers"]["authorization"].split(" ", 1)[1]


CASES = [("rotate", None), ("reuse", None), ("none", None), ("rotate", "3s"), ("reuse", "3s")]


@pytest.mark.parametrize("gateway", CASES, indirect=True,
                         ids=[f"{mode}-refresh_before-{margin or 'default'}" for mode, margin in CASES])
def test_the_app_never_receives_an_expired_access_token(gateway):
    mode, provider, porteiro = gateway
    session, echo = log_in(provider, porteiro)
    tokens = {echo["headers"]["authorization"]}
    logins = metrics(porteiro)["porteiro_logins_started_total"]
    deadline = time.time() + 15
    while time.time() < deadline:
        sent = time.time()
        token = token_seen_by_the_app(session.get(porteiro.url + "/app/tick", headers=HTML, timeout=10))
        expires = jwt_claims(token)["exp"]
        assert expires > sent, f"{mode}: the app got a token that had expired {sent - expires:.1f} s before"
        tokens.add(token)
        time.sleep(0.2)
    assert len(tokens) >= 3, "tokens were renewed, more than once"
    started = metrics(porteiro)["porteiro_logins_started_total"] - logins
    if mode == "none":
        assert started >= 2, "without refresh tokens each expiry is a new (silent) login"
    else:
        assert started == 0, "refreshed in the background, never a trip to the IdP's login"


@pytest.mark.parametrize("gateway", [("none", None)], indirect=True, ids=["none"])
def test_without_a_refresh_token_an_expired_session_ends(gateway):
    """Nothing can renew the token: a navigation is sent to the IdP, an API call gets 401, and
    the old token is not forwarded to the app either way."""
    _, provider, porteiro = gateway
    session, echo = log_in(provider, porteiro)
    token = echo["headers"]["authorization"].split(" ", 1)[1]
    cookies = {c.name: c.value for c in session.cookies if c.name.startswith("_porteiro")}
    assert requests.get(porteiro.url + "/app/x", headers=JSON, cookies=cookies, timeout=10).status_code == 200
    time.sleep(max(0.0, jwt_claims(token)["exp"] + 0.5 - time.time()))
    navigation = requests.get(porteiro.url + "/app/x", headers=HTML, cookies=cookies, allow_redirects=False, timeout=10)
    assert navigation.status_code == 302 and navigation.headers["Location"].startswith(provider.issuer)
    api = requests.get(porteiro.url + "/app/x", headers=JSON, cookies=cookies, allow_redirects=False, timeout=10)
    assert api.status_code == 401
    # The IdP still knows the browser: following the redirect signs it back in without a form.
    back = session.get(porteiro.url + "/app/back", headers=HTML, timeout=10)
    assert back.url == porteiro.url + "/app/back" and jwt_claims(token_seen_by_the_app(back))["exp"] > time.time()
