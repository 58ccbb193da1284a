"""Porteiro as the "may this pass?" service: /oauth2/auth behind a real nginx (the deploy/nginx
recipe, unchanged but for its addresses), the Traefik recipe's request, and /oauth2/userinfo."""
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
import yaml
from conftest import (ROOT, cookie_header, free_port, raw_request, start_mock_provider, start_porteiro, stop,
                      wait_until_up)
from test_login import HTML, log_in


@pytest.fixture(scope="module")
def nginx_stack(tmp_path_factory, upstream):
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is missing: apt-get install -y nginx-light (scripts/test.sh installs it)")
    tmp = tmp_path_factory.mktemp("nginx")
    site_port, porteiro_port = free_port(), free_port()
    provider = start_mock_provider()
    porteiro = start_porteiro(tmp, provider, upstream, porteiro_port,
                              public_url=f"http://127.0.0.1:{site_port}", trusted_proxies=["127.0.0.1"])
    recipe = (ROOT / "deploy" / "nginx" / "porteiro.conf").read_text()
    site = (recipe.replace("listen 80;", f"listen 127.0.0.1:{site_port};")
            .replace("127.0.0.1:4180", f"127.0.0.1:{porteiro_port}")
            .replace("http://127.0.0.1:8080", upstream))
    (tmp / "nginx.conf").write_text(f"""
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  {site}
}}
""")
    process = subprocess.Popen([nginx, "-c", str(tmp / "nginx.conf"), "-p", str(tmp)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until_up(f"http://127.0.0.1:{site_port}/public/up", process)
    yield provider, porteiro, f"http://127.0.0.1:{site_port}"
    for p in (process, porteiro.process, provider.process):
        p.terminate()
        p.wait(timeout=10)


def test_nginx_auth_request_logs_in_and_forwards_identity(nginx_stack):
    provider, _, site = nginx_stack
    session = requests.Session()
    page = session.get(site + "/app/page?q=1", headers=HTML, timeout=10)
    assert page.url.startswith(provider.issuer)
    landed = provider.log_in(session, page, "maria")
    assert landed.url == site + "/app/page?q=1", landed.url
    headers = landed.json()["headers"]
    assert headers["x-forwarded-user"] == "maria"
    assert headers["x-forwarded-groups"] == "servidores"


def test_nginx_applies_the_route_policy_of_the_original_uri(nginx_stack):
    provider, _, site = nginx_stack
    session = requests.Session()
    page = session.get(site + "/app/joao", headers=HTML, timeout=10)
    provider.log_in(session, page, "joao")
    assert session.get(site + "/admin/x", headers=HTML, allow_redirects=False, timeout=10).status_code == 403
    assert session.get(site + "/app/ok", headers=HTML, allow_redirects=False, timeout=10).status_code == 200
    assert requests.get(site + "/public/x", allow_redirects=False, timeout=10).status_code == 200


def test_forward_auth_endpoint_directly(nginx_stack):
    provider, porteiro, site = nginx_stack
    session = requests.Session()
    page = session.get(site + "/app/direct", headers=HTML, timeout=10)
    provider.log_in(session, page, "maria")
    auth = porteiro.url + "/oauth2/auth"
    ok = session.get(auth, timeout=10)
    assert ok.status_code == 202 and ok.headers["X-Auth-Request-User"] == "maria"
    assert ok.headers["X-Auth-Request-Email"] == "maria@example.org"
    assert "X-Auth-Request-Access-Token" not in ok.headers
    assert session.get(auth + "?allowed_groups=admins,servidores", timeout=10).status_code == 202
    assert session.get(auth + "?allowed_groups=admins", timeout=10).status_code == 403
    assert session.get(auth + "?allowed_email_domains=example.org", timeout=10).status_code == 202
    assert session.get(auth + "?allowed_emails=maria%40example.org", timeout=10).status_code == 202
    assert session.get(auth + "?allowed_emails=chefe%40example.org", timeout=10).status_code == 403
    assert requests.get(auth, timeout=10).status_code == 401
    info = session.get(porteiro.url + "/oauth2/userinfo", timeout=10).json()
    assert info == {"user": "maria", "preferred_username": "maria", "email": "maria@example.org",
                    "groups": ["servidores"], "roles": []}
    assert requests.get(porteiro.url + "/oauth2/userinfo", timeout=10).status_code == 401


def test_traefik_recipe_request_is_understood(nginx_stack):
    """What Traefik's forwardAuth middleware sends, built from deploy/traefik/dynamic.yml."""
    provider, porteiro, site = nginx_stack
    middleware = yaml.safe_load((ROOT / "deploy" / "traefik" / "dynamic.yml").read_text())["http"]["middlewares"]["porteiro"]["forwardAuth"]
    assert middleware["address"].endswith("/oauth2/auth")
    # Traefik must describe the request itself, never relay a client's X-Forwarded-Uri.
    assert not middleware.get("trustForwardHeader", False)
    session = requests.Session()
    provider.log_in(session, session.get(site + "/app/t", headers=HTML, timeout=10), "joao")
    forwarded = {"X-Forwarded-Method": "GET", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "portal.example.org"}
    address = porteiro.url + "/oauth2/auth"
    denied = session.get(address, headers={**forwarded, "X-Forwarded-Uri": "/admin/report"}, timeout=10)
    assert denied.status_code == 403
    allowed = session.get(address, headers={**forwarded, "X-Forwarded-Uri": "/app/report"}, timeout=10)
    assert allowed.status_code == 202
    assert set(middleware["authResponseHeaders"]) <= set(allowed.headers.keys()) | {"X-Auth-Request-Groups"}
    # The forwarded URI is normalized like any request path: no sneaking into /admin/.
    sneaky = session.get(address, headers={**forwarded, "X-Forwarded-Uri": "/app/..;/admin/report"}, timeout=10)
    assert sneaky.status_code == 400, "/admin/ to a servlet container, /app/ to others: refused, never admitted"


def signed_in_at_site(provider, site, user):
    """A browser session signed in through nginx (the recipe's /oauth2/ location)."""
    session = requests.Session()
    landed = provider.log_in(session, session.get(site + f"/app/{user}", headers=HTML, timeout=10), user)
    assert landed.status_code == 200, landed.text[:300]
    return session


def port_of(url):
    return int(url.rsplit(":", 1)[1])


@pytest.mark.parametrize("language", [";", "en, ;", ";q=0.5, pt"])
def test_an_accept_language_without_a_tag_renders_pages_through_nginx(nginx_stack, language):
    """`Accept-Language: ;` used to crash Porteiro on every error page — here the 401 of nginx's
    auth_request, so one anonymous request took the site down (nginx answered 500 from then on)."""
    _, porteiro, site = nginx_stack
    anonymous = requests.get(site + "/app/x", headers={**HTML, "Accept-Language": language}, allow_redirects=False,
                             timeout=10)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].endswith("/oauth2/start?rd=/app/x")
    assert porteiro.process.poll() is None, "Porteiro is still running"
    assert requests.get(site + "/public/after", timeout=10).status_code == 200, "nginx does not answer 500 afterwards"
    direct = requests.get(porteiro.url + "/no-such-page", headers={"Accept-Language": language}, allow_redirects=False,
                          timeout=10)
    assert direct.status_code == 401 and "<html" in direct.text


@pytest.mark.parametrize("target", ["/admin/report?#", "/admin%2Freport", "/admin/report?x=1#y", "/admin%2freport"])
def test_nginx_never_serves_admin_pages_for_an_original_uri_porteiro_cannot_read(nginx_stack, target):
    """nginx routes on its normalized $uri but sends Porteiro the raw $request_uri. A URI that
    Porteiro cannot parse used to be "no route", which admitted any signed-in user past /admin/'s
    group rule; now it is a 400 to nginx, so the app never answers joao (outside the group)."""
    provider, porteiro, site = nginx_stack
    joao = signed_in_at_site(provider, site, "joao")
    request = f"GET {target} HTTP/1.1\nHost: 127.0.0.1\nCookie: {cookie_header(joao)}\nConnection: close\n\n"
    answer = raw_request(port_of(site), request)
    assert answer.status != 200 and b'"path"' not in answer.body, f"{target}: the app answered ({answer.status_line})"
    assert "forward-auth refused" in porteiro.log_text()
    maria = signed_in_at_site(provider, site, "maria")
    allowed = raw_request(port_of(site), request.replace(cookie_header(joao), cookie_header(maria)).replace(
        target, "/admin/report"))
    assert allowed.status == 200 and b'"/admin/report"' in allowed.body, "a member still gets the page"


def ask(porteiro, session, headers, query=""):
    """/oauth2/auth as a trusted proxy asks it (the nginx stack trusts 127.0.0.1), over a raw
    socket so that each header value arrives exactly as written (also repeated, empty or UTF-8)."""
    lines = "".join(f"{name}: {value}\n" for name, value in headers)
    request = (f"GET /oauth2/auth{query} HTTP/1.1\nHost: 127.0.0.1\nCookie: {cookie_header(session)}\n{lines}"
               "Connection: close\n\n").replace("\n", "\r\n").encode()
    return raw_request(port_of(porteiro.url), request)


@pytest.mark.parametrize("uri", ["/admin%2Fx", "/admin/x?#", "/admin\\x", "/admin/é", "/admin/%zz", "%", "*",
                                 "admin/x", "", "/admin/%00", "/admin/users/../health", "/admin/users/%2e%2e/x",
                                 "/admin/./x", "//127.0.0.1/admin/x", "/app/x /admin/x"],
                         ids=["encoded-slash", "fragment", "backslash", "utf8", "bad-escape", "percent", "asterisk",
                              "relative", "empty", "nul", "dot-dot", "encoded-dot-dot", "dot", "double-slash", "space"])
def test_forward_auth_refuses_an_original_uri_it_cannot_read(nginx_stack, uri):
    provider, porteiro, site = nginx_stack
    joao = signed_in_at_site(provider, site, "joao")
    answer = ask(porteiro, joao, [("X-Forwarded-Uri", uri), ("X-Forwarded-Method", "GET")])
    assert answer.status == 400, f"{uri!r}: {answer.status_line}"
    assert 'msg="forward-auth refused" reason="original URI ' in porteiro.log_text()


@pytest.mark.parametrize("headers", [
    [("X-Forwarded-Uri", "/app/x"), ("X-Original-URI", "/admin/x")],
    [("X-Forwarded-Uri", "/app/x"), ("X-Original-URL", "/admin/x")],
    [("X-Forwarded-Uri", "/app/x"), ("X-Forwarded-Uri", "/admin/x")],
], ids=["forwarded-vs-original-uri", "forwarded-vs-original-url", "twice"])
def test_forward_auth_refuses_original_uris_that_disagree(nginx_stack, headers):
    """Which of two original URIs did the front proxy route on? Neither is believed."""
    provider, porteiro, site = nginx_stack
    joao = signed_in_at_site(provider, site, "joao")
    assert ask(porteiro, joao, headers).status == 400
    assert 'reason="original URI headers disagree"' in porteiro.log_text()


def test_forward_auth_applies_the_directory_routes_policy_without_its_slash(nginx_stack):
    """`/admin` is where nginx or the app would send /admin/'s index: /admin/'s rules apply."""
    provider, porteiro, site = nginx_stack
    joao, maria = signed_in_at_site(provider, site, "joao"), signed_in_at_site(provider, site, "maria")
    for uri in ["/admin", "/admin?x=1"]:
        assert ask(porteiro, joao, [("X-Forwarded-Uri", uri)]).status == 403, uri
        assert ask(porteiro, maria, [("X-Forwarded-Uri", uri)]).status == 202, uri


@pytest.mark.parametrize("query", ["?allowed_groups=", "?allowed_emails=", "?allowed_email_domains=",
                                   "?allowed_groups=,"])
def test_an_empty_query_policy_admits_nobody(nginx_stack, query):
    """`allowed_groups=` is what an unset nginx variable leaves: it names no one, so no one passes."""
    provider, porteiro, site = nginx_stack
    maria = signed_in_at_site(provider, site, "maria")
    assert ask(porteiro, maria, [], query).status == 403
    assert ask(porteiro, maria, [], "?allowed_groups=servidores").status == 202


@pytest.fixture(scope="module")
def host_bound(tmp_path_factory, upstream):
    """A Porteiro trusting 127.0.0.1 whose routes all belong to one host: an original request for
    another host matches no route."""
    provider = start_mock_provider()
    routes = """\
  - host: portal.example.org
    path: /admin/
    upstream: "{upstream}"
    allow: {{ groups: [servidores] }}
  - host: portal.example.org
    path: /
    upstream: "{upstream}"
  - host: 127.0.0.1
    path: /
    upstream: "{upstream}"
"""
    porteiro = start_porteiro(tmp_path_factory.mktemp("host-bound"), provider, upstream, free_port(),
                              trusted_proxies=["127.0.0.1"], routes=routes)
    yield provider, porteiro
    stop(porteiro.process, provider.process)


def test_forward_auth_refuses_an_original_request_no_route_serves(host_bound):
    """No route, no policy to apply: that used to mean "any signed-in user"; now it is 403."""
    provider, porteiro = host_bound
    maria, _ = log_in(provider, porteiro, "maria")
    portal = [("X-Forwarded-Host", "portal.example.org")]
    assert ask(porteiro, maria, portal + [("X-Forwarded-Uri", "/admin/x")]).status == 202
    elsewhere = ask(porteiro, maria, [("X-Forwarded-Host", "elsewhere.example.org"), ("X-Forwarded-Uri", "/admin/x")])
    assert elsewhere.status == 403
    assert 'reason="no route for the original URI"' in porteiro.log_text()
    assert ask(porteiro, maria, []).status == 202, "no original URI: only \"signed in?\""


def test_the_recipe_passes_no_client_spelling_of_identity_or_credentials_to_the_app(nginx_stack):
    """A signed-in request through the recipe carrying identity headers of its own: the app sees
    Porteiro's answer only (the red team saw all four forged ones arrive)."""
    provider, _, site = nginx_stack
    session = requests.Session()
    provider.log_in(session, session.get(site + "/app/spoof", headers=HTML, timeout=10), "joao")
    forged = {"X-Forwarded-Preferred-Username": "admin", "Authorization": "Bearer FORGED", "X-Auth-Request-User": "admin",
              "X-Forwarded-Access-Token": "FORGED", "Remote-User": "admin", "X-Forwarded-User": "admin",
              "Remote-Email": "admin@x", "Remote-Groups": "admin", "Remote-Name": "admin", "X-Remote-Groups": "admin",
              "X-WEBAUTH-USER": "admin", "Proxy-Authorization": "Basic FORGED", "X-Amzn-Oidc-Identity": "admin",
              "X-Goog-Authenticated-User-Email": "admin@x", "X-SSL-Client-Verify": "SUCCESS-FORGED", "X-Request-Id": "FORGED",
              "X-Real-IP": "6.6.6.6", "X-Forwarded-For": "6.6.6.6", "True-Client-IP": "6.6.6.6", "X-Client-IP": "6.6.6.6",
              "X-Forwarded-Prefix": "/FORGED", "X-Forwarded-Port": "6666", "Forwarded": "for=6.6.6.6"}
    seen = session.get(site + "/app/spoof", headers={**HTML, **forged}, timeout=10).json()["headers"]
    assert seen["x-forwarded-user"] == "joao" and seen["x-forwarded-preferred-username"] == "joao"
    assert "FORGED" not in str(seen) and "admin" not in str(seen), seen
    assert "6.6.6.6" not in str(seen) and "6666" not in str(seen), seen
    assert seen["x-real-ip"] == "127.0.0.1", "the address nginx saw, not one the client named"


def test_a_client_cannot_reach_forward_auth_through_the_pages_location(nginx_stack):
    """`location = /oauth2/auth { internal; }` does not cover `/oauth2/auth;x`, which nginx sends to
    the `/oauth2/` location: Porteiro refuses its own paths with parameters, and that location clears
    the forward-auth headers a client could send as nginx (a trusted proxy)."""
    provider, _, site = nginx_stack
    session = requests.Session()
    provider.log_in(session, session.get(site + "/app/leak", headers=HTML, timeout=10), "maria")
    port = int(site.rsplit(":", 1)[1])
    cookies = cookie_header(session)
    for target in ["/oauth2/auth;x", "/x/../oauth2/auth;", "/oauth2/auth;?allowed_groups=servidores"]:
        answer = raw_request(port, f"GET {target} HTTP/1.1\nHost: 127.0.0.1\nCookie: {cookies}\nConnection: close\n\n")
        assert answer.status != 202 and answer.header("X-Auth-Request-Access-Token") is None, (target, answer.status_line)
    oracle = session.get(site + "/oauth2/userinfo", headers={"X-Forwarded-Uri": "/admin/x"}, timeout=10)
    assert oracle.status_code == 200, "the page location answers for the session alone"


def test_a_servlet_style_parameter_path_never_reaches_the_app_through_nginx(nginx_stack):
    """Tomcat reads `/x/.;/../admin/secret` as `/admin/secret`, Porteiro once read it as
    `/x/admin/secret` and admitted it under the catch-all. Now such a path is refused."""
    provider, _, site = nginx_stack
    session = requests.Session()
    provider.log_in(session, session.get(site + "/app/servlet", headers=HTML, timeout=10), "joao")
    port = int(site.rsplit(":", 1)[1])
    for target in ["/x/.;/../admin/secret", "/x/;/../admin/secret", "/app/..;/admin/secret"]:
        answer = raw_request(port, f"GET {target} HTTP/1.1\nHost: 127.0.0.1\nCookie: {cookie_header(session)}\nConnection: close\n\n")
        assert answer.status not in (200, 202), (target, answer.status_line, answer.body[:200])
