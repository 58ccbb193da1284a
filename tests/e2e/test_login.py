"""The whole login flow against real OpenID providers, with an HTTP client that follows
redirects and fills in the provider's login form like a browser would."""
import html
import re
import time
from urllib.parse import parse_qs, urlparse

import requests
from conftest import COOKIE_SECRET, SAME_ORIGIN, free_port, start_mock_provider, start_porteiro, stop

HTML = {"Accept": "text/html,application/xhtml+xml"}


def log_in(provider, porteiro, user="maria", path="/app/page?x=1&y=two", callback="/oauth2/callback"):
    """Anonymous deep link → provider login → back at the deep link, signed in. `callback`: the
    provider's redirect path (`/oauth2/callback/<name>` for a gateway's providers after the first)."""
    session = requests.Session()
    page = session.get(porteiro.url + path, headers=HTML, timeout=10)
    origin = "{0.scheme}://{0.netloc}".format(urlparse(provider.issuer))
    assert page.url.startswith(origin), f"expected the provider's login page, got {page.url}"
    first_redirect = page.history[0]
    assert first_redirect.status_code == 302
    authorize = parse_qs(urlparse(first_redirect.headers["Location"]).query)
    assert authorize["code_challenge_method"] == ["S256"] and len(authorize["code_challenge"][0]) == 43
    assert len(authorize["state"][0]) >= 22 and len(authorize["nonce"][0]) >= 22
    assert authorize["redirect_uri"] == [porteiro.url + callback]
    landed = provider.log_in(session, page, user)
    assert landed.status_code == 200, landed.text[:500]
    assert landed.url == porteiro.url + path
    return session, landed.json()


def test_login_forwards_bearer_and_identity(stack):
    provider, porteiro = stack
    session, echo = log_in(provider, porteiro)
    headers = echo["headers"]
    assert echo["path"] == "/app/page?x=1&y=two"
    assert headers["authorization"].startswith("Bearer ")
    assert headers["x-forwarded-user"] == "maria"
    assert headers["x-forwarded-email"] == "maria@example.org"
    assert headers["x-forwarded-groups"] == "servidores"
    assert "_porteiro" not in headers.get("cookie", ""), "the session cookie never reaches the app"
    cookie = next(c for c in session.cookies if c.name == "_porteiro")
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert "maria" not in cookie.value
    token = headers["authorization"].split(" ", 1)[1]
    log = porteiro.log_text()
    assert token not in log and cookie.value not in log, "no token or cookie in logs, even at debug level"
    assert COOKIE_SECRET not in log and (provider.client_secret or COOKIE_SECRET) not in log, "no secret either"


def test_anonymous_api_calls_get_401_not_a_redirect(stack):
    _, porteiro = stack
    for headers in [{"Accept": "application/json"}, {**HTML, "X-Requested-With": "XMLHttpRequest"},
                    {**HTML, "Sec-Fetch-Mode": "cors"}]:
        response = requests.get(porteiro.url + "/api/x", headers=headers, allow_redirects=False, timeout=10)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    post = requests.post(porteiro.url + "/form", headers=HTML, allow_redirects=False, timeout=10)
    assert post.status_code == 401
    assert requests.get(porteiro.url + "/public/x", timeout=10).status_code == 200


def test_two_tabs_logging_in_at_once_both_succeed(stack):
    provider, porteiro = stack
    session = requests.Session()
    first = session.get(porteiro.url + "/tab/one", headers=HTML, timeout=10)
    second = session.get(porteiro.url + "/tab/two", headers=HTML, timeout=10)
    assert provider.log_in(session, second, "maria").url == porteiro.url + "/tab/two"
    assert provider.continue_login(session, first, "maria").url == porteiro.url + "/tab/one"


def test_refresh_keeps_the_session_alive_without_the_provider_page(stack):
    provider, porteiro = stack
    session, echo = log_in(provider, porteiro)
    first_token = echo["headers"]["authorization"]
    time.sleep(3)  # tokens live 5 s, Porteiro refreshes 3 s before expiry
    response = session.get(porteiro.url + "/after-refresh", headers=HTML, allow_redirects=False, timeout=10)
    assert response.status_code == 200, response.text[:300]
    assert response.json()["headers"]["authorization"] != first_token
    assert "_porteiro" in response.headers.get("Set-Cookie", "")
    again = session.get(porteiro.url + "/after-refresh", headers=HTML, allow_redirects=False, timeout=10)
    assert again.status_code == 200


def test_sign_out_ends_the_session_here_and_at_the_provider(stack):
    provider, porteiro = stack
    session, _ = log_in(provider, porteiro)
    # A click on the sign-out link of one of the site's pages: the browser says same-origin.
    out = session.get(porteiro.url + "/oauth2/sign_out?rd=/public/bye", headers=SAME_ORIGIN, allow_redirects=False,
                      timeout=10)
    assert out.status_code == 302
    location = urlparse(out.headers["Location"])
    query = parse_qs(location.query)
    assert out.headers["Location"].startswith(provider.issuer)
    assert query["client_id"] == [provider.client_id]
    assert query["post_logout_redirect_uri"] == [porteiro.url + "/public/bye"]
    assert "id_token_hint" in query
    assert "_porteiro=;" in out.headers["Set-Cookie"]
    assert not any(c.name == "_porteiro" for c in session.cookies)
    again = session.get(porteiro.url + "/app/page", headers=HTML, allow_redirects=False, timeout=10)
    assert again.status_code == 302 and again.headers["Location"].startswith(provider.issuer)


def test_tampered_cookie_is_anonymous_and_cleared(stack):
    provider, porteiro = stack
    session, _ = log_in(provider, porteiro)
    cookie = next(c for c in session.cookies if c.name == "_porteiro")
    tampered = cookie.value[:-3] + ("AAA" if not cookie.value.endswith("AAA") else "BBB")
    response = requests.get(porteiro.url + "/app", headers={**HTML, "Cookie": f"_porteiro={tampered}"},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 302 and response.headers["Location"].startswith(provider.issuer)
    assert "_porteiro=; Path=/; Max-Age=0" in response.headers["Set-Cookie"]


def test_callback_with_a_wrong_or_replayed_state_is_refused(stack):
    provider, porteiro = stack
    session = requests.Session()
    page = session.get(porteiro.url + "/deep", headers=HTML, timeout=10)
    landed = provider.log_in(session, page, "maria")
    callback = next(r.url for r in landed.history if "/oauth2/callback?" in r.url)
    replay = session.get(callback, allow_redirects=False, timeout=10)
    assert replay.status_code == 400 and "no longer valid" in replay.text
    forged = requests.get(porteiro.url + "/oauth2/callback?code=x&state=forged", timeout=10)
    assert forged.status_code == 400


def test_a_code_used_once_is_refused_by_the_provider_and_makes_no_session(stack):
    provider, porteiro = stack
    session = requests.Session()
    page = session.get(porteiro.url + "/first", headers=HTML, timeout=10)
    landed = provider.log_in(session, page, "maria")
    callback = next(r.url for r in landed.history if "/oauth2/callback?" in r.url)
    used_code = parse_qs(urlparse(callback).query)["code"][0]
    attacker = requests.Session()
    start = attacker.get(porteiro.url + "/oauth2/start?rd=/stolen", allow_redirects=False, timeout=10)
    state = parse_qs(urlparse(start.headers["Location"]).query)["state"][0]
    replay = attacker.get(porteiro.url + "/oauth2/callback", params={"code": used_code, "state": state},
                          allow_redirects=False, timeout=10)
    assert replay.status_code == 502 and "could not complete the sign-in" in replay.text
    assert "_porteiro=" not in replay.headers.get("Set-Cookie", "").replace("_porteiro_state", "")
    assert not any(c.name == "_porteiro" for c in attacker.cookies)


def test_a_session_cookie_planted_before_login_is_replaced(stack):
    """Session fixation: whatever `_porteiro` cookie a visitor arrives with (garbage, or another
    user's real session planted by an attacker), signing in issues a new one of their own."""
    provider, porteiro = stack
    attacker, _ = log_in(provider, porteiro, user="joao")
    planted_session = next(c.value for c in attacker.cookies if c.name == "_porteiro")
    for planted in ["fixed-by-attacker", planted_session]:
        victim = requests.Session()
        victim.cookies.set("_porteiro", planted, domain="127.0.0.1", path="/")
        page = victim.get(porteiro.url + "/oauth2/start?rd=/app/mine", headers=HTML, timeout=10)
        landed = provider.log_in(victim, page, "maria")
        assert landed.status_code == 200 and landed.json()["headers"]["x-forwarded-user"] == "maria"
        values = [c.value for c in victim.cookies if c.name == "_porteiro"]
        assert len(values) == 1 and values[0] != planted
        again = victim.get(porteiro.url + "/app/again", headers=HTML, allow_redirects=False, timeout=10)
        assert again.json()["headers"]["x-forwarded-user"] == "maria"


def test_idp_errors_become_a_clear_page(stack):
    _, porteiro = stack
    session = requests.Session()
    start = session.get(porteiro.url + "/oauth2/start?rd=/x", allow_redirects=False, timeout=10)
    state = parse_qs(urlparse(start.headers["Location"]).query)["state"][0]
    response = session.get(
        porteiro.url + f"/oauth2/callback?error=access_denied&error_description=User+said+no&state={state}", timeout=10)
    assert response.status_code == 403
    assert "access_denied" in response.text and "User said no" in response.text


def test_start_refuses_offsite_return_targets(stack):
    _, porteiro = stack
    session = requests.Session()
    for target in ["//evil.example", "https://evil.example/", "/\\evil.example"]:
        start = session.get(porteiro.url + "/oauth2/start", params={"rd": target}, allow_redirects=False, timeout=10)
        assert start.status_code == 302


def metrics(porteiro):
    """/metrics as Prometheus parses it: series → value."""
    response = requests.get(porteiro.url + "/metrics", timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    series = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            series[name] = float(value)
    return series


def test_metrics_move_with_logins_refreshes_and_rejected_cookies(stack):
    provider, porteiro = stack
    before = metrics(porteiro)
    session, _ = log_in(provider, porteiro)
    time.sleep(3)  # into the refresh window, as in the refresh test
    assert session.get(porteiro.url + "/after-refresh", headers=HTML, timeout=10).status_code == 200
    requests.get(porteiro.url + "/app", headers={**HTML, "Cookie": "_porteiro=garbage"}, allow_redirects=False, timeout=10)
    requests.get(porteiro.url + "/oauth2/callback?code=x&state=forged", timeout=10)
    after = metrics(porteiro)

    def moved(series):
        return after.get(series, 0) - before.get(series, 0)

    assert moved("porteiro_logins_started_total") >= 2, "the login and the rejected cookie's redirect"
    assert moved("porteiro_logins_completed_total") == 1
    assert moved("porteiro_token_refreshes_total") >= 1
    assert moved('porteiro_logins_failed_total{reason="state"}') == 1
    assert moved('porteiro_session_cookie_rejected_total{reason="unreadable"}') == 1
    assert moved('porteiro_idp_request_duration_seconds_count{endpoint="token"}') >= 2, "code exchange and refresh"
    assert moved('porteiro_requests_total{route="/",status="2xx"}') >= 2


def sign_out_page_action(page):
    """The confirmation page's form: its method and where it posts."""
    form = re.search(r'<form method="(\w+)" action="([^"]+)"', page.text)
    assert form, page.text[:500]
    return form.group(1).lower(), html.unescape(form.group(2))


def test_a_sign_out_request_from_elsewhere_gets_a_confirmation_page_and_ends_nothing(stack):
    """A link or form on another site (or a client that does not say where it comes from, as
    python-requests) must not sign anyone out: it gets a page whose button posts the sign-out from
    this origin, and the session stays."""
    provider, porteiro = stack
    session, _ = log_in(provider, porteiro)
    for method, headers in [("GET", {}), ("GET", {"Sec-Fetch-Site": "cross-site"}),
                            ("GET", {"Sec-Fetch-Site": "same-site"}), ("POST", {"Sec-Fetch-Site": "cross-site"}),
                            ("POST", {"Origin": "https://evil.example"}), ("POST", {})]:
        page = session.request(method, porteiro.url + "/oauth2/sign_out?rd=/public/bye", headers=headers,
                               allow_redirects=False, timeout=10)
        assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html"), (method, headers)
        assert "_porteiro=" not in page.headers.get("Set-Cookie", ""), "nothing is cleared"
        assert sign_out_page_action(page) == ("post", "/oauth2/sign_out?rd=%2Fpublic%2Fbye"), (method, headers)
        still = session.get(porteiro.url + "/app/still", headers=HTML, allow_redirects=False, timeout=10)
        assert still.status_code == 200 and still.json()["headers"]["x-forwarded-user"] == "maria", (method, headers)


def test_the_confirmation_pages_button_signs_out(stack):
    """What the browser sends when the person presses the page's button: a same-origin POST."""
    provider, porteiro = stack
    session, _ = log_in(provider, porteiro)
    page = session.get(porteiro.url + "/oauth2/sign_out?rd=/public/bye", allow_redirects=False, timeout=10)
    method, action = sign_out_page_action(page)
    out = session.request(method, porteiro.url + action, headers={"Origin": porteiro.url}, allow_redirects=False,
                          timeout=10)
    assert out.status_code == 302 and out.headers["Location"].startswith(provider.issuer)
    sent = parse_qs(urlparse(out.headers["Location"]).query)
    assert sent["post_logout_redirect_uri"] == [porteiro.url + "/public/bye"]
    assert "_porteiro=;" in out.headers["Set-Cookie"]
    again = session.get(porteiro.url + "/app/page", headers=HTML, allow_redirects=False, timeout=10)
    assert again.status_code == 302 and again.headers["Location"].startswith(provider.issuer)


def test_a_copy_of_the_session_cookie_is_worthless_after_sign_out(stack):
    """Sign-out revokes the session by its random id (revocation.store: memory here): a copy of
    the cookie taken before (a shared computer, a stolen backup) no longer opens it."""
    provider, porteiro = stack
    session, _ = log_in(provider, porteiro)
    copy = {c.name: c.value for c in session.cookies if c.name.startswith("_porteiro")}
    out = session.get(porteiro.url + "/oauth2/sign_out", headers=SAME_ORIGIN, allow_redirects=False, timeout=10)
    assert out.status_code == 302
    stolen = requests.get(porteiro.url + "/app/stolen", headers={"Accept": "application/json"}, cookies=copy,
                          allow_redirects=False, timeout=10)
    assert stolen.status_code == 401, "the copied cookie is anonymous"


def test_a_return_target_on_another_port_of_our_host_lands_home(stack, upstream):
    """`rd` is compared by origin (scheme, host and port): http://<our host>:<another port>/ is
    another site (here the app itself, reachable around the gateway), so the login ends at `/`."""
    provider, porteiro = stack
    elsewhere = upstream + "/x"  # http://127.0.0.1:<the echo app's port>/x
    assert elsewhere.startswith("http://127.0.0.1:") and not elsewhere.startswith(porteiro.url + "/")
    session = requests.Session()
    page = session.get(porteiro.url + "/oauth2/start", params={"rd": elsewhere}, headers=HTML, timeout=10)
    landed = provider.log_in(session, page, "maria")
    assert landed.status_code == 200 and landed.url == porteiro.url + "/", landed.url
    assert landed.json()["headers"]["x-forwarded-user"] == "maria"


def test_allowed_redirect_hosts_match_their_port(tmp_path, upstream):
    """An allowed host without a port is allowed at its scheme's default port only; one listed
    with a port (apps.example.org:8443) at that port only; our own host at its own origin only.
    Seen through sign-out, whose return target goes to the provider as post_logout_redirect_uri."""
    provider = start_mock_provider()
    port = free_port()
    porteiro = start_porteiro(tmp_path, provider, upstream, port,
                              server_extra='  allowed_redirect_hosts: ["apps.example.org:8443", "plain.example.org"]\n')
    home = porteiro.url + "/"
    cases = {
        "https://apps.example.org:8443/x": "https://apps.example.org:8443/x",
        "https://apps.example.org/x": home,
        "https://plain.example.org/x": "https://plain.example.org/x",
        "http://plain.example.org/x": "http://plain.example.org/x",
        "https://plain.example.org:8443/x": home,
        f"http://127.0.0.1:{port}/x": f"http://127.0.0.1:{port}/x",
        f"https://127.0.0.1:{port}/x": home,
        f"http://127.0.0.1:{port + 1}/x": home,
        "http://127.0.0.1/x": home,
    }
    try:
        for target, expected in cases.items():
            out = requests.get(porteiro.url + "/oauth2/sign_out", params={"rd": target}, headers=SAME_ORIGIN,
                               allow_redirects=False, timeout=10)
            assert out.status_code == 302 and out.headers["Location"].startswith(provider.issuer), target
            sent = parse_qs(urlparse(out.headers["Location"]).query)["post_logout_redirect_uri"]
            assert sent == [expected], f"rd={target}: {sent}"
    finally:
        stop(porteiro.process, provider.process)
