"""Porteiro's own pages — 400, 401, 403, 405, the sign-out confirmation — built from what the
client and the IdP send: an Accept-Language header with no language in it, a user name that looks
like a template placeholder."""
import pytest
import requests
from conftest import cookie_header, free_port, raw_request, start_mock_provider, start_porteiro, stop
from test_login import log_in


@pytest.fixture(scope="module")
def gateway(tmp_path_factory, upstream):
    provider = start_mock_provider()
    porteiro = start_porteiro(tmp_path_factory.mktemp("pages"), provider, upstream, free_port())
    porteiro.port = int(porteiro.url.rsplit(":", 1)[1])
    yield provider, porteiro
    stop(porteiro.process, provider.process)


PAGES = [  # request line, extra headers, the page's status
    ("POST /app/x HTTP/1.1", "Accept: text/html\nContent-Length: 0\n", 401),
    ("GET /app/x HTTP/1.1", "Accept: application/json\n", 401),
    ("GET /app/%2e%2e%2fx%5c HTTP/1.1", "Accept: text/html\n", 400),
    ("GET /oauth2/callback?code=x&state=forged HTTP/1.1", "Accept: text/html\n", 400),
    ("GET /oauth2/sign_out HTTP/1.1", "Accept: text/html\n", 200),
    ("GET /admin/x HTTP/1.1", "Accept: text/html\nCookie: {joao}\n", 403),
    ("DELETE /admin/x HTTP/1.1", "Accept: text/html\nCookie: {joao}\n", 405),
]


@pytest.mark.parametrize("language", [";", "en, ;", ";;", ",", "pt;q=x, ;q=0.5", "en;q=", ";q=1"])
def test_an_accept_language_without_a_tag_renders_every_page(gateway, language):
    """`Accept-Language: ;` used to trap the process on every error page: one header from any
    anonymous client ended every connection. Each page renders now (in English), over plain
    HTTP/1.1, and the process serves the next request."""
    provider, porteiro = gateway
    joao, _ = log_in(provider, porteiro, "joao", path="/app/joao")
    for line, headers, status in PAGES:
        request = f"{line}\nHost: 127.0.0.1\nAccept-Language: {language}\n{headers}Connection: close\n\n"
        answer = raw_request(porteiro.port, request.format(joao=cookie_header(joao)))
        assert answer.status == status, f"{line} with Accept-Language {language!r}: {answer.status_line}"
        assert porteiro.process.poll() is None, f"{line} with Accept-Language {language!r} ended the process"
    assert requests.get(porteiro.url + "/public/next", timeout=10).status_code == 200


def test_a_user_name_that_looks_like_a_placeholder_shows_literally(gateway):
    """The error page template is filled in one pass: a user name from the IdP containing
    `{{request_id}}` or `{{link}}` is shown as written, not expanded into the page's own values
    (which let an IdP user name inject the sign-out link's HTML, or forge the request id)."""
    provider, porteiro = gateway
    name = "{{link}}{{request_id}}"
    created = requests.put(provider.issuer + "/users/tricky", timeout=10,
                           json={"preferred_username": name, "email": "tricky@example.org", "groups": []})
    assert created.status_code == 204
    tricky, _ = log_in(provider, porteiro, "tricky", path="/app/tricky")
    denied = tricky.get(porteiro.url + "/admin/x", headers={"Accept": "text/html"}, timeout=10)
    assert denied.status_code == 403
    assert f"You are signed in as {name}, but this page is not open to you." in denied.text, denied.text
    assert denied.text.count('href="/oauth2/sign_out"') == 1, "the link only where the template puts it"
    assert denied.text.count(denied.headers["X-Request-Id"]) == 1, "the request id only where the template puts it"
