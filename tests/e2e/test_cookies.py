"""Cookie tossing: a sibling subdomain, a plain-http page or a page of the same host at a deeper
path can plant a second session cookie next to the real one. Two different session values in one
request are believed neither: the request is anonymous and every place a planted copy could sit is
cleared. Under https the cookie carries the __Host- prefix (no Domain, Path=/, Secure), which no
other origin can plant at all."""
import pytest
import requests
from conftest import (free_port, make_certificate, raw_request, start_mock_provider, start_porteiro, stop,
                      tls_server_extra)
from test_login import HTML, log_in

JSON = {"Accept": "application/json"}


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, upstream):
    provider = start_mock_provider()
    porteiro = start_porteiro(tmp_path_factory.mktemp("cookies"), provider, upstream, free_port())
    yield provider, porteiro
    stop(porteiro.process, provider.process)


def session_value(session):
    return next(c.value for c in session.cookies if c.name == "_porteiro")


def deletions(response):
    return [v for k, v in response.raw.headers.items() if k.lower() == "set-cookie" and "Max-Age=0" in v]


def test_a_second_session_cookie_planted_at_a_deeper_path_makes_the_request_anonymous(gateway):
    """joao plants his own session cookie in maria's browser at Path=/admin (cookies of a longer
    path are sent first, so a gateway reading the first value would see joao). Neither is
    believed, and the answer deletes the cookie at `/` and at every prefix of the path."""
    provider, porteiro = gateway
    maria, _ = log_in(provider, porteiro, "maria")
    joao, _ = log_in(provider, porteiro, "joao", path="/app/joao")
    maria.cookies.set("_porteiro", session_value(joao), domain="127.0.0.1", path="/admin")
    tossed = maria.get(porteiro.url + "/admin/x", headers=JSON, allow_redirects=False, timeout=10)
    assert tossed.status_code == 401, f"anonymous, not {tossed.status_code}"
    cleared = deletions(tossed)
    assert 0 < len(cleared) <= 32
    for path in ["/", "/admin", "/admin/", "/admin/x"]:
        assert f"_porteiro=; Path={path}; Max-Age=0; HttpOnly; SameSite=Lax" in cleared, (path, cleared)
    assert not any("Domain=" in value for value in cleared), "an address has no parent domain to clear"
    assert "two different session values in one request" in porteiro.log_text()
    assert not any(c.name == "_porteiro" for c in maria.cookies), "the browser forgot both"


def test_a_planted_cookie_on_an_optional_route_gives_no_identity(gateway):
    """On an optional route, a tossed cookie must not make maria's request joao's."""
    provider, porteiro = gateway
    maria, _ = log_in(provider, porteiro, "maria")
    joao, _ = log_in(provider, porteiro, "joao", path="/app/joao")
    maria.cookies.set("_porteiro", session_value(joao), domain="127.0.0.1", path="/opt")
    seen = maria.get(porteiro.url + "/opt/x", timeout=10)
    assert seen.status_code == 200 and "x-forwarded-user" not in seen.json()["headers"], seen.json()["headers"]


def test_the_whole_cookie_next_to_a_chunk_is_anonymous_and_the_same_value_twice_is_not(gateway):
    provider, porteiro = gateway
    maria, _ = log_in(provider, porteiro, "maria")
    value = session_value(maria)
    port = int(porteiro.url.rsplit(":", 1)[1])

    def ask(cookie):
        return raw_request(port, f"GET /app/x HTTP/1.1\nHost: 127.0.0.1\nAccept: application/json\n"
                                 f"Cookie: {cookie}\nConnection: close\n\n")

    assert ask(f"_porteiro={value}").status == 200
    assert ask(f"_porteiro={value}; _porteiro={value}").status == 200, "a duplicate of one value is no conflict"
    assert ask(f"_porteiro={value}; _porteiro_0=AAAA").status == 401, "whole and chunked forms at once"
    assert ask(f"_porteiro_0=AAAA; _porteiro_0=BBBB").status == 401


@pytest.fixture(scope="module")
def tls_gateways(tmp_path_factory, upstream):
    """Two Porteiros over HTTPS: the default (https public_url, no cookie_domain: __Host- on) and
    one with session.cookie_host_prefix: false."""
    tmp = tmp_path_factory.mktemp("tls-cookies")
    certificate, key = make_certificate(tmp)
    provider = start_mock_provider()
    gateways = []
    for extra in ["", "  cookie_host_prefix: false\n"]:
        port = free_port()
        gateways.append(start_porteiro(tmp, provider, upstream, port, public_url=f"https://127.0.0.1:{port}",
                                       server_extra=tls_server_extra(certificate, key), session_extra=extra))
    yield provider, certificate, gateways
    stop(*[g.process for g in gateways] + [provider.process])


def tls_login(provider, certificate, porteiro):
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment overrides `verify`
    session.verify = str(certificate)
    page = session.get(porteiro.url + "/app/tls", headers=HTML, timeout=10)
    landed = provider.log_in(session, page, "maria")
    assert landed.status_code == 200 and landed.json()["headers"]["x-forwarded-user"] == "maria", landed.text[:300]
    callback = next(r for r in landed.history if "/oauth2/callback" in r.url)
    return session, [v for k, v in callback.raw.headers.items() if k.lower() == "set-cookie" and "Max-Age=0" not in v]


def test_the_session_cookie_is_host_prefixed_under_https(tls_gateways):
    provider, certificate, (default, _) = tls_gateways
    session, set_cookies = tls_login(provider, certificate, default)
    session_cookies = [v for v in set_cookies if "_porteiro_state" not in v]
    assert session_cookies and all(v.startswith("__Host-_porteiro=") for v in session_cookies), set_cookies
    for value in session_cookies:
        assert "Secure" in value and "Path=/;" in value and "Domain" not in value, value
    assert {c.name for c in session.cookies} >= {"__Host-_porteiro"}
    # A cookie without the prefix (which a sibling or plain-http page could set) is not the session.
    planted = requests.Session()
    planted.trust_env, planted.verify = False, str(certificate)
    planted.cookies.set("_porteiro", session.cookies["__Host-_porteiro"], domain="127.0.0.1", path="/")
    assert planted.get(default.url + "/app/x", headers=JSON, allow_redirects=False, timeout=10).status_code == 401


def test_cookie_host_prefix_false_keeps_the_plain_name(tls_gateways):
    provider, certificate, (_, plain) = tls_gateways
    _, set_cookies = tls_login(provider, certificate, plain)
    assert any(v.startswith("_porteiro=") and "Secure" in v for v in set_cookies), set_cookies
    assert not any(v.startswith("__Host-") for v in set_cookies), set_cookies
