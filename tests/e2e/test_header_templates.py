"""`routes[].headers`: any claim as any header, seen by a real WSGI app (which folds `-` and `_`),
with users whose claims are missing, lists, numbers, hostile (CR/LF) or too long — as the mock
provider (an independent OIDC implementation) puts them in its ID tokens and userinfo."""
import json
import os
import subprocess

import pytest
import requests
from conftest import COOKIE_SECRET, PORTEIRO_BIN, free_port, jwt_claims, start_mock_provider, start_porteiro, stop
from test_login import log_in

TEMPLATED = """\
  - path: /rh/
    upstream: "{wsgi}"
    headers:
      Remote-User: "{{{{user}}}}"
      X-Employee-Id: "{{{{claims.employee_number}}}}"
      X-Label: "emp-{{{{claims.employee_number}}}} <{{{{email}}}}>"
      X-Roles: "{{{{claims.realm_access.roles}}}}"
      X-Bio: "{{{{claims.bio}}}}"
      X-Big: "{{{{claims.big}}}}"
      X-Missing: "{{{{claims.nope}}}}"
      X-Id-Token: "{{{{id_token}}}}"
      X-Subject: "{{{{subject}}}}"
  - path: /wsgi/
    upstream: "{wsgi}"
    auth: optional
  - path: /
    upstream: "{{upstream}}"
"""

USERS = {
    "ana": {"preferred_username": "ana", "email": "ana@example.org", "email_verified": True, "employee_number": 1234,
            "realm_access": {"roles": ["rh", "b,c", " padded", "gestor"]}, "bio": "first\r\nX-Evil: 1\u0000",
            "big": "x" * 4200},
    "pedro": {"preferred_username": "pedro", "email": "pedro@example.org", "email_verified": True},
}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, upstream, wsgi_upstream):
    provider = start_mock_provider()
    for sub, claims in USERS.items():
        requests.put(f"{provider.issuer}/users/{sub}", json=claims, timeout=10).raise_for_status()
    porteiro = start_porteiro(tmp_path_factory.mktemp("templates"), provider, upstream, free_port(),
                              trusted_proxies=["127.0.0.1"], routes=TEMPLATED.format(wsgi=wsgi_upstream))
    yield provider, porteiro
    stop(porteiro.process, provider.process)


def seen(session, porteiro, path, headers=None):
    response = session.get(porteiro.url + path, headers=headers or {}, allow_redirects=False, timeout=10)
    assert response.status_code == 200, response.text[:300]
    return response.json()


def test_claims_become_the_configured_headers(gateway):
    provider, porteiro = gateway
    ana, _ = log_in(provider, porteiro, "ana", path="/rh/start")
    environ = seen(ana, porteiro, "/rh/x")
    assert environ["HTTP_REMOTE_USER"] == "ana"
    assert environ["HTTP_X_EMPLOYEE_ID"] == "1234", "a whole number claim, as text"
    assert environ["HTTP_X_LABEL"] == "emp-1234 <ana@example.org>"
    assert environ["HTTP_X_ROLES"] == "rh,gestor", "items a comma-splitting app would misread are dropped"
    assert environ["HTTP_X_SUBJECT"] == "ana"
    pedro, _ = log_in(provider, porteiro, "pedro", path="/rh/start")
    assert jwt_claims(seen(pedro, porteiro, "/rh/x")["HTTP_X_ID_TOKEN"])["sub"] == "pedro"


def test_hostile_missing_and_oversized_values_never_reach_the_app_as_sent(gateway):
    provider, porteiro = gateway
    ana, _ = log_in(provider, porteiro, "ana", path="/rh/start")
    environ = seen(ana, porteiro, "/rh/x", {"X-Missing": "spoof", "X_Big": "spoof"})
    assert "HTTP_X_BIO" not in environ and "HTTP_X_EVIL" not in environ, "a value with CR/LF/NUL is left out, nothing smuggled"
    assert "HTTP_X_BIG" not in environ, "a value over the limit omits the header, never a cut value"
    assert "HTTP_X_ID_TOKEN" not in environ, "ana's ID token, holding the long claim, is over the limit too"
    assert "HTTP_X_MISSING" not in environ, "a missing claim omits the header, and the client's is gone"
    pedro, _ = log_in(provider, porteiro, "pedro", path="/rh/start")
    environ = seen(pedro, porteiro, "/rh/x", {"X-Employee-Id": "1234", "X-Label": "emp-1234"})
    assert "HTTP_X_EMPLOYEE_ID" not in environ and "HTTP_X_LABEL" not in environ, "pedro has no employee number"
    assert environ["HTTP_REMOTE_USER"] == "pedro"


@pytest.mark.parametrize("name", ["Remote-User", "X-Employee-Id", "X_Employee_Id", "x-id_token"])
def test_configured_names_are_stripped_from_clients_on_every_route(gateway, name):
    provider, porteiro = gateway
    anonymous = seen(requests, porteiro, "/wsgi/x", {name: "1234"})
    assert not any(key in anonymous for key in ["HTTP_REMOTE_USER", "HTTP_X_EMPLOYEE_ID", "HTTP_X_ID_TOKEN"]), anonymous


def test_forward_auth_answers_carry_the_routes_headers(gateway):
    """nginx `auth_request_set` copies them from the 202; tokens only go to a trusted front proxy."""
    provider, porteiro = gateway
    ana, _ = log_in(provider, porteiro, "ana", path="/rh/start")
    answer = ana.get(porteiro.url + "/oauth2/auth", headers={"X-Original-URI": "/rh/report"}, timeout=10)
    assert answer.status_code == 202, answer.text
    assert answer.headers["X-Employee-Id"] == "1234" and answer.headers["Remote-User"] == "ana"
    pedro, _ = log_in(provider, porteiro, "pedro", path="/rh/start")
    answer = pedro.get(porteiro.url + "/oauth2/auth", headers={"X-Original-URI": "/rh/report"}, timeout=10)
    assert answer.status_code == 202 and "X-Employee-Id" not in answer.headers
    assert jwt_claims(answer.headers["X-Id-Token"])["sub"] == "pedro"


def test_check_config_refuses_a_placeholder_it_does_not_know(tmp_path, gateway):
    provider, porteiro = gateway
    config = next(porteiro.log.parent.glob(f"porteiro-{porteiro.url.rsplit(':', 1)[1]}.yaml")).read_text()
    bad = tmp_path / "bad.yaml"
    bad.write_text(config.replace("{claims.nope}", "{claim.nope}"))
    env = dict(os.environ, PORTEIRO_COOKIE_SECRET=COOKIE_SECRET)
    result = subprocess.run([PORTEIRO_BIN, "check-config", "--config", str(bad)], capture_output=True, text=True, env=env)
    assert result.returncode == 1
    assert "routes[0].headers.X-Missing" in result.stdout + result.stderr
    assert "unknown placeholder {claim.nope}" in result.stdout + result.stderr
    table = subprocess.run([PORTEIRO_BIN, "routes", "--config", str(next(porteiro.log.parent.glob("porteiro-*.yaml")))],
                           capture_output=True, text=True, env=env, check=True).stdout
    assert "X-Employee-Id={claims.employee_number}" in table and "HEADERS" in table
