"""Porteiro as the "may this pass?" service: /oauth2/auth behind a real nginx (the deploy/nginx
recipe, unchanged but for its addresses), the Traefik recipe's request, and /oauth2/userinfo."""
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
import yaml
from conftest import ROOT, free_port, start_mock_provider, start_porteiro, wait_until_up
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
    assert sneaky.status_code == 403
