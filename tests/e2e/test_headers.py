"""What reaches the app of the headers a client sends: identity headers and their `_` twins,
headers with `_` at all, the client's own Authorization, and the forwarding headers that speak for
the client (its address, scheme, host, URI, method). Seen by a real WSGI app (Python's wsgiref,
which folds `-` and `_` alike, as Django, Flask, PHP and CGI do) and by the echo app."""
import os
import subprocess

import pytest
import requests
from conftest import (COOKIE_SECRET, PORTEIRO_BIN, Provider, free_port, start_mock_provider, start_porteiro, stop,
                      write_config)
from test_login import log_in

BASIC = "Basic Zm9vOmJhcg=="  # a client's own credentials, for some other system


def routes(wsgi, extra=""):
    return f"""\
  - path: /wsgi/
    upstream: "{wsgi}"
    auth: optional
  - path: /wsgi-custom/
    upstream: "{wsgi}"
    auth: optional
    identity_headers: {{{{ user: X-App-User }}}}
  - path: /public/
    upstream: "{{upstream}}"
    auth: none
  - path: /opt/
    upstream: "{{upstream}}"
    auth: optional
  - path: /no-token/
    upstream: "{{upstream}}"
    pass_access_token: false
{extra}  - path: /
    upstream: "{{upstream}}"
    skip_auth: [{{{{ path: /app/health }}}}]
"""


OWN_AUTH_ROUTE = """\
  - path: /own-auth/
    upstream: "{upstream}"
    auth: none
    pass_client_authorization: true
"""


class Gateways:
    """Porteiros in front of the same apps: `untrusting` trusts no proxy; `trusting` trusts
    127.0.0.1 (so the test speaks as a front proxy); both keep the defaults. `opted_in()` turns on
    what a server or route may opt into — underscores_in_headers, pass_client_authorization —
    started on first use, so that the tests of the defaults also run on binaries that know no
    such options."""

    def __init__(self, tmp, provider, upstream, wsgi_upstream):
        self.tmp, self.provider, self.upstream, self.wsgi_upstream = tmp, provider, upstream, wsgi_upstream
        self.started = []
        self.untrusting = self.start(routes=routes(wsgi_upstream))
        self.trusting = self.start(trusted_proxies=["127.0.0.1"], routes=routes(wsgi_upstream))
        self._opted_in = None

    def start(self, **extra):
        self.started.append(start_porteiro(self.tmp, self.provider, self.upstream, free_port(), **extra))
        return self.started[-1]

    def opted_in(self):
        if self._opted_in is None:
            self._opted_in = self.start(server_extra="  underscores_in_headers: true\n",
                                        routes=routes(self.wsgi_upstream, OWN_AUTH_ROUTE))
        return self._opted_in

    def __getitem__(self, which):
        return self.opted_in() if which == "opted_in" else getattr(self, which)


@pytest.fixture(scope="module")
def gateways(tmp_path_factory, upstream, wsgi_upstream):
    gateways = Gateways(tmp_path_factory.mktemp("headers"), start_mock_provider(), upstream, wsgi_upstream)
    yield gateways
    stop(*[g.process for g in gateways.started] + [gateways.provider.process])


IDENTITY_SPOOFS = [("X_Forwarded_User", "admin"), ("X-Forwarded_User", "admin"), ("X_Auth_Request_User", "admin"),
                   ("Remote-User", "admin"), ("X-Remote-User", "admin"), ("Remote_User", "admin"),
                   ("X_Forwarded_Groups", "admins"), ("X_Forwarded_Email", "admin@example.org")]


def environ(session_or_requests, porteiro, path, headers):
    response = session_or_requests.get(porteiro.url + path, headers=headers, allow_redirects=False, timeout=10)
    assert response.status_code == 200, response.text[:300]
    return response.json()


@pytest.mark.parametrize("which", ["untrusting", "trusting", "opted_in"])
def test_underscore_twins_of_identity_headers_never_reach_a_wsgi_app(gateways, which):
    """WSGI reads X_Forwarded_User as HTTP_X_FORWARDED_USER, the very key Porteiro's
    X-Forwarded-User lands in: an anonymous client sending it must not be seen as admin
    (oauth2-proxy's CVE-2025-64484). Stripped with `_` and `-` folded, whether or not
    underscores_in_headers lets other `_` headers through, and from trusted proxies too."""
    porteiro = gateways[which]
    anonymous = environ(requests, porteiro, "/wsgi/x", dict(IDENTITY_SPOOFS))
    for key in ["HTTP_X_FORWARDED_USER", "HTTP_X_AUTH_REQUEST_USER", "HTTP_REMOTE_USER", "HTTP_X_REMOTE_USER",
                "HTTP_X_FORWARDED_GROUPS", "HTTP_X_FORWARDED_EMAIL"]:
        assert key not in anonymous, f"{key}={anonymous.get(key)!r} reached the app of an anonymous client"
    maria, _ = log_in(gateways.provider, porteiro, "maria")
    signed_in = environ(maria, porteiro, "/wsgi/x", dict(IDENTITY_SPOOFS))
    assert signed_in["HTTP_X_FORWARDED_USER"] == "maria", "Porteiro's value alone, nothing joined to it"
    assert signed_in["HTTP_X_FORWARDED_GROUPS"] == "servidores"


def test_client_headers_with_underscores_are_dropped_by_default(gateways):
    """server.underscores_in_headers: false (the default, as nginx's): no `_` header passes."""
    headers = {"X_Custom": "1", "X-Custom-Dash": "2"}
    dropped = environ(requests, gateways.untrusting, "/wsgi/x", headers)
    assert "HTTP_X_CUSTOM" not in dropped and dropped["HTTP_X_CUSTOM_DASH"] == "2"
    kept = environ(requests, gateways.opted_in(), "/wsgi/x", headers)
    assert kept["HTTP_X_CUSTOM"] == "1", "underscores_in_headers: true passes them"


@pytest.mark.parametrize("which", ["trusting", "opted_in"])
@pytest.mark.parametrize("name", ["X-App-User", "X_App_User", "x-app_user"])
def test_custom_identity_header_names_and_their_twins_are_stripped_on_every_route(gateways, which, name):
    """A route's own identity header names (identity_headers) are Porteiro's word too: a client
    sending them, in any spelling, is stripped on that route and on every other, from trusted
    proxies too, and whether or not underscores_in_headers lets other `_` headers through."""
    porteiro = gateways[which]
    for path in ["/wsgi-custom/x", "/wsgi/x"]:
        seen = environ(requests, porteiro, path, {name: "admin"})
        assert "HTTP_X_APP_USER" not in seen, f"{name} reached {path}"
    maria, _ = log_in(gateways.provider, porteiro, "maria")
    assert environ(maria, porteiro, "/wsgi-custom/x", {name: "admin"})["HTTP_X_APP_USER"] == "maria"


def test_the_clients_authorization_header_reaches_no_app(gateways):
    """The app trusts Authorization as Porteiro's word (a verified token): a client's own header
    is removed on public routes, for anonymous visitors of optional routes, on skip_auth matches
    and where the route sends no token (pass_access_token: false)."""
    porteiro = gateways.untrusting
    own = {"Authorization": BASIC}
    for path in ["/public/x", "/opt/x", "/app/health"]:
        seen = requests.get(porteiro.url + path, headers=own, allow_redirects=False, timeout=10)
        assert seen.status_code == 200 and "authorization" not in seen.json()["headers"], path
    maria, _ = log_in(gateways.provider, porteiro, "maria")
    no_token = maria.get(porteiro.url + "/no-token/x", headers=own, allow_redirects=False, timeout=10)
    assert no_token.status_code == 200 and "authorization" not in no_token.json()["headers"]
    assert no_token.json()["headers"]["x-forwarded-user"] == "maria"


def test_pass_client_authorization_lets_the_clients_own_header_through(gateways):
    """For a public route in front of an API with its own auth."""
    porteiro = gateways.opted_in()
    opted_in = requests.get(porteiro.url + "/own-auth/x", headers={"Authorization": BASIC}, timeout=10)
    assert opted_in.json()["headers"]["authorization"] == BASIC
    other = requests.get(porteiro.url + "/public/x", headers={"Authorization": BASIC}, timeout=10)
    assert "authorization" not in other.json()["headers"], "only on the route that opts in"


FORWARDING = {
    "X-Real-IP": "10.6.6.6", "True-Client-IP": "10.6.6.6", "X-Client-IP": "10.6.6.6", "Client-IP": "10.6.6.6",
    "CF-Connecting-IP": "10.6.6.6", "X-Cluster-Client-IP": "10.6.6.6", "Forwarded": "for=10.6.6.6;proto=https",
    "X-Forwarded-For": "10.6.6.6", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "admin.example.org",
    "X-Forwarded-Port": "8443", "X-Forwarded-Prefix": "/admin", "X-Forwarded-Server": "admin.example.org",
    "X-Forwarded-Uri": "/admin/", "X-Forwarded-Method": "DELETE", "X-Original-URI": "/admin/",
    "X-Original-URL": "/admin/", "X-Rewrite-URL": "/admin/", "X-Host": "admin.example.org",
    "X-HTTP-Method-Override": "DELETE", "X-Method-Override": "DELETE", "X-Forwarded-SSL": "on",
}


def test_forwarding_headers_from_an_untrusted_client_are_dropped(gateways):
    """Apps use these for allow-lists, audit logs, links and routing: from a client that is no
    trusted proxy they are removed, and Porteiro states the address, scheme and host it saw."""
    seen = requests.get(gateways.untrusting.url + "/public/x", headers=FORWARDING, timeout=10).json()["headers"]
    assert seen["x-real-ip"] == "127.0.0.1", "X-Real-IP is the peer's address"
    assert seen["x-forwarded-for"] == "127.0.0.1"
    assert seen["x-forwarded-proto"] == "http"
    assert seen["x-forwarded-host"] == gateways.untrusting.url.removeprefix("http://")
    for name in FORWARDING:
        if name.lower() not in ("x-real-ip", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host"):
            assert name.lower() not in seen, f"{name}: {seen.get(name.lower())!r} reached the app"


def test_a_trusted_proxy_speaks_for_the_client_but_never_rewrites_the_url(gateways):
    """From a trusted proxy the forwarding headers pass; X-Real-IP is the right-most
    X-Forwarded-For entry that is not itself a trusted proxy (nginx's realip, recursive); and
    X-Original-URL / X-Rewrite-URL (which IIS and Symfony route on) never pass, from anyone."""
    headers = {**FORWARDING, "X-Forwarded-For": "198.51.100.9, 203.0.113.7, 127.0.0.1"}
    seen = requests.get(gateways.trusting.url + "/public/x", headers=headers, timeout=10).json()["headers"]
    assert seen["x-real-ip"] == "203.0.113.7"
    assert seen["x-forwarded-for"] == "198.51.100.9, 203.0.113.7, 127.0.0.1, 127.0.0.1"
    assert seen["x-forwarded-proto"] == "https" and seen["x-forwarded-host"] == "admin.example.org"
    assert seen["x-forwarded-port"] == "8443" and seen["true-client-ip"] == "10.6.6.6"
    assert "x-original-url" not in seen and "x-rewrite-url" not in seen


def test_pass_client_authorization_is_refused_on_a_bearer_route(tmp_path, upstream):
    """On an `auth: bearer` route the client's Authorization is the token Porteiro verified; an
    option to pass "the client's own" there would be meaningless or a way around the check."""
    absent = Provider("mock", "http://127.0.0.1:9", "porteiro-mock", "mock-secret", None)
    routes = """\
  - path: /api/
    upstream: "{upstream}"
    auth: bearer
    audiences: [some-api]
    pass_client_authorization: true
"""
    config = write_config(tmp_path, absent, upstream, free_port(), routes=routes)
    result = subprocess.run([PORTEIRO_BIN, "check-config", "--config", str(config)], capture_output=True, text=True,
                            env=dict(os.environ, PORTEIRO_COOKIE_SECRET=COOKIE_SECRET))
    assert result.returncode == 1
    assert "pass_client_authorization" in result.stdout + result.stderr, result.stdout + result.stderr
