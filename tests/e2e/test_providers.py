"""Several providers on one gateway (`providers:`), each an independent process: two development
providers behind fault proxies (`gov`, `partners`: separate keys, issuers and back-channel
logouts) and the mock provider (`mock`, another OIDC implementation). A session at one is no
session at another; one callback serves all; back-channel logout from each ends only its own;
sign-out ends them all; bearer routes take the providers they name; /ready names one that is down."""
import os
import subprocess
import time
from urllib.parse import parse_qs, urlencode, urlparse

import pytest
import requests
from conftest import (COOKIE_SECRET, PORTEIRO_BIN, SAME_ORIGIN, free_port, start_mock_provider, stop,
                      wait_until_up)
from faulty_provider import FaultyProvider
from test_login import HTML, log_in


def provider_yaml(name, provider):
    secret = f', client_secret: "{provider.client_secret}"' if provider.client_secret else ""
    return f'  {name}: {{ issuer: "{provider.issuer}", client_id: "{provider.client_id}"{secret}, clock_skew: 1s }}\n'


def start_gateway(tmp, port, upstream, providers, routes=None):
    """A Porteiro with `providers` (name → Provider) and a route per provider."""
    config = tmp / f"providers-{port}.yaml"
    routes = routes or "".join(
        f'  - {{ path: /{name}/, upstream: "{upstream}", provider: {name} }}\n' for name in providers
    ) + f"""\
  - {{ path: /api/gov-only/, upstream: "{upstream}", auth: bearer, audiences: [porteiro-dev] }}
  - {{ path: /api/both/, upstream: "{upstream}", auth: bearer, audiences: [porteiro-dev], providers: [gov, partners] }}
  - {{ path: /, upstream: "{upstream}" }}
"""
    config.write_text(f"""server:
  listen: "127.0.0.1:{port}"
  public_url: "http://127.0.0.1:{port}"
  trusted_proxies: ["127.0.0.1"]
logging:
  level: debug
providers:
{"".join(provider_yaml(name, p) for name, p in providers.items())}session:
  secrets: ["${{PORTEIRO_COOKIE_SECRET}}"]
routes:
{routes}""")
    log = tmp / f"providers-{port}.log"
    process = subprocess.Popen([PORTEIRO_BIN, "serve", "--config", str(config)],
                               env=dict(os.environ, PORTEIRO_COOKIE_SECRET=COOKIE_SECRET), stdout=log.open("w"),
                               stderr=subprocess.STDOUT)
    return process, log, config, f"http://127.0.0.1:{port}"


class Gateway:
    def __init__(self, url, process, log):
        self.url, self.process, self.log = url, process, log

    def log_text(self):
        return self.log.read_text()


@pytest.fixture(scope="module")
def stack(tmp_path_factory, upstream):
    tmp = tmp_path_factory.mktemp("providers")
    port = free_port()
    gov, partners, mock = FaultyProvider(port), FaultyProvider(port, callback_path="/oauth2/callback/partners"), start_mock_provider()
    process, log, config, url = start_gateway(tmp, port, upstream, {"gov": gov.provider, "partners": partners.provider,
                                                                    "mock": mock})
    wait_until_up(url + "/ready", process)
    yield {"gov": gov, "partners": partners, "mock": mock}, Gateway(url, process, log), config
    stop(process, mock.process)
    gov.stop()
    partners.stop()


def provider_of(idps, name):
    return idps[name].provider if name != "mock" else idps[name]


def user_at(session, gateway, name):
    """The user the app sees on `name`'s route, or None when the gateway sends the browser to log in."""
    response = session.get(f"{gateway.url}/{name}/check", headers=HTML, allow_redirects=False, timeout=10)
    if response.status_code == 302:
        return None
    assert response.status_code == 200, response.text[:300]
    return response.json()["headers"]["x-forwarded-user"]


def log_in_also(session, provider, gateway, user, path):
    """Logs the same browser in at another provider's route."""
    landed = provider.log_in(session, session.get(gateway.url + path, headers=HTML, timeout=10), user)
    assert landed.status_code == 200 and landed.url == gateway.url + path, landed.text[:300]
    return landed.json()


def idp_cookies(session):
    return {c.name: c.value for c in session.cookies if not c.name.startswith("_porteiro")}


def test_a_session_at_one_provider_is_no_session_at_another(stack):
    idps, gateway, _ = stack
    session, echo = log_in(idps["gov"].provider, gateway, "maria", path="/gov/page")
    assert user_at(session, gateway, "gov") == "maria"
    for other in ["partners", "mock"]:
        response = session.get(f"{gateway.url}/{other}/page", headers=HTML, allow_redirects=False, timeout=10)
        assert response.status_code == 302, f"a gov session admitted at {other}"
        assert response.headers["Location"].startswith(provider_of(idps, other).issuer), "the login goes to that route's provider"
    session.cookies.clear(domain="127.0.0.1", path="/", name="porteiro_dev_op")  # the dev providers share a host
    log_in_also(session, idps["partners"].provider, gateway, "joao", "/partners/page")
    log_in_also(session, idps["mock"], gateway, "maria", "/mock/page")
    assert [user_at(session, gateway, n) for n in ["gov", "partners", "mock"]] == ["maria", "joao", "maria"]
    names = sorted(c.name for c in session.cookies if c.name.startswith("_porteiro") and "_state_" not in c.name)
    assert names == ["_porteiro", "_porteiro_mock", "_porteiro_partners"], names
    assert not any("_porteiro" in v for v in [echo["headers"].get("cookie", "")]), "no Porteiro cookie reaches an app"


def test_forward_auth_checks_the_session_of_the_original_uris_provider(stack):
    """The test speaks as the trusted front proxy (nginx auth_request)."""
    idps, gateway, _ = stack
    session, _ = log_in(idps["gov"].provider, gateway, "maria", path="/gov/page")
    def ask(uri, query=""):
        return session.get(gateway.url + "/oauth2/auth" + query, headers={"X-Original-URI": uri}, timeout=10).status_code
    assert ask("/gov/report") == 202
    assert ask("/partners/report") == 401, "a gov session is no one at partners' routes"
    assert ask("/gov/report", "?provider=partners") == 400, "provider= never overrides the route's"
    assert ask("/gov/report", "?provider=gov") == 202
    without_uri = lambda q: session.get(gateway.url + "/oauth2/auth" + q, timeout=10).status_code  # noqa: E731
    assert [without_uri(""), without_uri("?provider=partners"), without_uri("?provider=nobody")] == [202, 401, 400]


def test_a_provider_cannot_have_another_providers_code_sent_to_it(stack):
    """IdP mix-up (red team 6): a login started at `partners` is forwarded by partners to gov's
    login with partners' state; gov sends its code back to its own redirect URI, where no partners
    state counts — the code never reaches partners' token endpoint."""
    idps, gateway, _ = stack
    victim = requests.Session()
    start = victim.get(gateway.url + "/oauth2/start?provider=partners&rd=/partners/x", allow_redirects=False, timeout=10)
    partners_authorize = parse_qs(urlparse(start.headers["Location"]).query)
    assert partners_authorize["redirect_uri"] == [gateway.url + "/oauth2/callback/partners"]
    forwarded = dict(partners_authorize, client_id=[idps["gov"].provider.client_id], redirect_uri=[gateway.url + "/oauth2/callback"])
    page = victim.get(idps["gov"].issuer + "/authorize?" + urlencode(forwarded, doseq=True), headers=HTML, timeout=10)
    landed = idps["gov"].provider.log_in(victim, page, "maria")
    assert landed.status_code == 400, "gov's code came back with a state that is not gov's: refused"
    assert "/oauth2/callback?" in landed.url and "code=" in landed.url
    assert user_at(victim, gateway, "partners") is None and user_at(victim, gateway, "gov") is None


def test_back_channel_logout_from_each_provider_ends_only_its_own_session(stack):
    idps, gateway, _ = stack
    session, _ = log_in(idps["gov"].provider, gateway, "maria", path="/gov/page")
    at_gov = idp_cookies(session)
    session.cookies.clear(domain="127.0.0.1", path="/", name="porteiro_dev_op")
    log_in_also(session, idps["partners"].provider, gateway, "joao", "/partners/page")
    at_partners = idp_cookies(session)
    assert [user_at(session, gateway, n) for n in ["gov", "partners"]] == ["maria", "joao"]
    # The partners IdP ends its session: it posts a logout token to the gateway.
    assert requests.get(idps["partners"].issuer + "/logout", cookies=at_partners, timeout=10).status_code == 200
    deadline = time.time() + 5
    while user_at(session, gateway, "partners") is not None:
        assert time.time() < deadline, "the partners logout never ended the partners session"
        time.sleep(0.1)
    assert user_at(session, gateway, "gov") == "maria", "a logout at partners ends nothing at gov"
    assert requests.get(idps["gov"].issuer + "/logout", cookies=at_gov, timeout=10).status_code == 200
    deadline = time.time() + 5
    while user_at(session, gateway, "gov") is not None:
        assert time.time() < deadline, "the gov logout never ended the gov session"
        time.sleep(0.1)
    assert gateway.log_text().count('msg="back-channel logout"') >= 2


def test_sign_out_ends_every_session_and_visits_the_routes_provider(stack):
    idps, gateway, _ = stack
    session, _ = log_in(idps["gov"].provider, gateway, "maria", path="/gov/page")
    log_in_also(session, idps["mock"], gateway, "maria", "/mock/page")
    out = session.get(gateway.url + "/oauth2/sign_out?rd=/mock/bye", headers=SAME_ORIGIN, allow_redirects=False, timeout=10)
    assert out.status_code == 302
    assert out.headers["Location"].startswith(idps["mock"].issuer), "the end-session endpoint of rd's route's provider"
    cleared = out.headers["Set-Cookie"]
    assert "_porteiro=;" in cleared and "_porteiro_mock=;" in cleared, cleared
    assert user_at(session, gateway, "gov") is None and user_at(session, gateway, "mock") is None


def test_bearer_routes_take_the_tokens_of_the_providers_they_name(stack):
    idps, gateway, _ = stack
    tokens = {}
    for name, user, callback in [("gov", "maria", "/oauth2/callback"), ("partners", "joao", "/oauth2/callback/partners")]:
        _, echo = log_in(idps[name].provider, gateway, user, path=f"/{name}/page", callback=callback)
        tokens[name] = echo["headers"]["authorization"]
    gov_only = [requests.get(gateway.url + "/api/gov-only/x", headers={"Authorization": tokens[n]}, timeout=10).status_code
                for n in ["gov", "partners"]]
    assert gov_only == [200, 401], "same aud, same key type: only the route's provider's tokens"
    both = [requests.get(gateway.url + "/api/both/x", headers={"Authorization": tokens[n]}, timeout=10) for n in ["gov", "partners"]]
    assert [b.status_code for b in both] == [200, 200]
    assert [b.json()["headers"]["x-forwarded-user"] for b in both] == ["maria", "joao"]


def test_ready_names_a_provider_that_is_down_and_the_others_keep_working(tmp_path, upstream):
    port = free_port()
    gov = FaultyProvider(port)
    down = type("Down", (), {"issuer": f"http://127.0.0.1:{free_port()}", "client_id": "x", "client_secret": None})()
    process, log, _, url = start_gateway(tmp_path, port, upstream, {"gov": gov.provider, "down": down},
                                         routes=f'  - {{ path: /down/, upstream: "{upstream}", provider: down }}\n'
                                                f'  - {{ path: /, upstream: "{upstream}" }}\n')
    try:
        deadline = time.time() + 20
        while True:
            try:
                ready = requests.get(url + "/ready", timeout=5)
                if "gov" not in ready.text:
                    break
            except requests.ConnectionError:
                pass
            assert time.time() < deadline, "never started"
            time.sleep(0.2)
        assert ready.status_code == 503 and ready.text == "NOT READY: provider down not loaded\n", ready.text
        session, _ = log_in(gov.provider, type("G", (), {"url": url})(), "maria", path="/app/page")
        assert session.get(url + "/app/x", timeout=10).status_code == 200, "gov's routes work while down is down"
        assert requests.get(url + "/down/x", headers=HTML, allow_redirects=False, timeout=10).status_code == 503
    finally:
        stop(process)
        gov.stop()


def test_check_config_and_routes_show_and_refuse_providers(stack, tmp_path):
    _, _, config = stack
    env = dict(os.environ, PORTEIRO_COOKIE_SECRET=COOKIE_SECRET)
    table = subprocess.run([PORTEIRO_BIN, "routes", "--config", str(config)], capture_output=True, text=True, env=env, check=True).stdout
    assert "PROVIDER" in table and "gov,partners" in table and "/partners/" in table
    bad = tmp_path / "bad.yaml"
    bad.write_text(config.read_text().replace("provider: mock", "provider: nobody"))
    result = subprocess.run([PORTEIRO_BIN, "check-config", "--config", str(bad)], capture_output=True, text=True, env=env)
    assert result.returncode == 1 and '"nobody" is not one of the providers (gov, partners, mock)' in result.stderr, result.stderr
