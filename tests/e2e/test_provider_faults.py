"""The IdP misbehaving: not there yet at start-up, gone while users are signed in, too slow,
failing, rotating or garbling its keys. Each fault: the right answer, a log line, recovery."""
import os
import subprocess
import time

import pytest
import requests
from conftest import (PORTEIRO_BIN, Provider, free_port, jwt_claims, start_mock_provider, start_porteiro,
                      wait_until_up, write_config)
from faulty_provider import FaultyProvider
from test_login import log_in

HTML = {"Accept": "text/html"}


def test_login_waits_for_the_provider_without_blocking_start_up(tmp_path, upstream):
    provider_port, port = free_port(), free_port()
    provider = Provider("mock", f"http://127.0.0.1:{provider_port}", "porteiro-mock", "mock-secret", None)
    config = write_config(tmp_path, provider, upstream, port)
    process = subprocess.Popen([PORTEIRO_BIN, "serve", "--config", str(config)],
                               env={"PORTEIRO_COOKIE_SECRET": "LL6RmrB6UvlvV2TTpm1B3CMt0E3OJH6y7OqdVldQnug="},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url + "/ping", process)
        assert requests.get(url + "/ready", timeout=5).status_code == 503
        page = requests.get(url + "/app", headers={**HTML, "Accept-Language": "pt-BR"}, allow_redirects=False, timeout=5)
        assert page.status_code == 503
        assert "provedor de identidade" in page.text and page.headers["Retry-After"]
        assert requests.get(url + "/public/ok", timeout=5).status_code == 200, "public routes work meanwhile"
        late = start_mock_provider(port=provider_port)
        try:
            deadline = time.time() + 20
            while requests.get(url + "/ready", timeout=5).status_code != 200:
                assert time.time() < deadline, "not ready after the provider came up"
                time.sleep(0.2)
            login = requests.get(url + "/app", headers=HTML, allow_redirects=False, timeout=5)
            assert login.status_code == 302 and login.headers["Location"].startswith(late.issuer)
        finally:
            late.process.terminate()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_sessions_keep_working_while_the_provider_is_down(tmp_path, upstream):
    provider = start_mock_provider()
    porteiro = start_porteiro(tmp_path, provider, upstream, free_port())
    try:
        session, _ = log_in(provider, porteiro)
        provider.process.terminate()
        provider.process.wait(timeout=10)
        assert session.get(porteiro.url + "/still", headers=HTML, allow_redirects=False, timeout=10).status_code == 200
        time.sleep(3)  # past the refresh margin: the refresh cannot reach the IdP
        after = session.get(porteiro.url + "/still", headers=HTML, allow_redirects=False, timeout=20)
        assert after.status_code == 200, "an unreachable IdP does not log anyone out"
    finally:
        porteiro.process.terminate()
        porteiro.process.wait(timeout=10)


def open_fds(porteiro):
    return len(os.listdir(f"/proc/{porteiro.process.pid}/fd"))


def wait_for_log(porteiro, text, timeout=5):
    deadline = time.time() + timeout
    while text not in porteiro.log_text():
        assert time.time() < deadline, f"no log line with {text!r}"
        time.sleep(0.1)


def attempt_login(provider, porteiro, path="/app/attempt"):
    """A login that may fail: the browser's last answer, after the provider sent it back."""
    session = requests.Session()
    page = session.get(porteiro.url + path, headers=HTML, timeout=10)
    return session, provider.log_in(session, page, "maria")


def session_cookie(session):
    return [c.value for c in session.cookies if c.name == "_porteiro"]


@pytest.fixture
def faulty(tmp_path, upstream):
    """A Porteiro whose IdP calls time out after 1 s, in front of a `FaultyProvider`."""
    port = free_port()
    idp = FaultyProvider(port)
    porteiro = start_porteiro(tmp_path, idp.provider, upstream, port, provider_extra="  timeout: 1s\n")
    porteiro.started = time.time()
    yield idp, porteiro
    porteiro.process.terminate()
    porteiro.process.wait(timeout=10)
    idp.stop()


def test_an_idp_slower_than_its_timeout_fails_the_login_clearly_then_recovers(faulty):
    idp, porteiro = faulty
    log_in(idp.provider, porteiro)
    fds = open_fds(porteiro)
    idp.faults["/token"] = ("hang", 4)
    session, page = attempt_login(idp.provider, porteiro)
    assert page.status_code == 502 and "could not complete the sign-in" in page.text
    assert page.elapsed.total_seconds() < 3, "the callback gives up after provider.timeout (1 s)"
    assert session_cookie(session) == []
    wait_for_log(porteiro, "login failed")
    assert "IdP unreachable" in porteiro.log_text()
    idp.faults.clear()
    log_in(idp.provider, porteiro)
    time.sleep(4)  # the hung call ends at the proxy
    assert open_fds(porteiro) <= fds + 2, "the timed-out connection to the IdP was let go"


@pytest.mark.parametrize("fault", [("status", 500), ("hang", 3)], ids=["token-500", "token-hangs"])
def test_a_failing_token_endpoint_during_refresh_keeps_the_session_until_it_recovers(faulty, fault):
    idp, porteiro = faulty
    session, echo = log_in(idp.provider, porteiro)
    first_token = echo["headers"]["authorization"]
    idp.faults["/token"] = fault
    time.sleep(3)  # tokens live 5 s, Porteiro refreshes 3 s before expiry
    kept = session.get(porteiro.url + "/app/kept", headers=HTML, allow_redirects=False, timeout=10)
    assert kept.status_code == 200 and kept.json()["headers"]["authorization"] == first_token
    wait_for_log(porteiro, "token refresh failed; session kept")
    idp.faults.clear()
    time.sleep(5.5)  # a failed refresh is tried again after 5 s, not on every request
    after = session.get(porteiro.url + "/app/after", headers=HTML, allow_redirects=False, timeout=10)
    assert after.status_code == 200 and after.json()["headers"]["authorization"] != first_token
    assert "_porteiro=" in after.headers.get("Set-Cookie", "")


def test_rotated_signing_keys_are_fetched_again_and_a_garbage_jwks_is_refused(faulty):
    idp, porteiro = faulty
    log_in(idp.provider, porteiro)
    idp.faults["/jwks"] = ("garbage",)
    idp.rotate_keys()
    time.sleep(max(0.0, porteiro.started + 10.5 - time.time()))  # the JWKS is fetched at most every 10 s
    session, page = attempt_login(idp.provider, porteiro)
    assert page.status_code == 401 and "could not be trusted" in page.text
    assert session_cookie(session) == []
    wait_for_log(porteiro, "signing keys not refreshed")
    idp.faults.clear()
    time.sleep(10.5)
    log_in(idp.provider, porteiro)
    wait_for_log(porteiro, "signing keys refreshed")


def test_a_token_response_without_an_id_token_is_refused(faulty):
    idp, porteiro = faulty
    idp.faults["/token"] = ("drop", "id_token")
    session, page = attempt_login(idp.provider, porteiro)
    assert page.status_code == 401 and "could not be trusted" in page.text
    assert session_cookie(session) == []
    wait_for_log(porteiro, "login failed")
    idp.faults.clear()
    log_in(idp.provider, porteiro)


@pytest.mark.parametrize("value", [1e30, "1e300"], ids=["1e30", "string-1e300"])
def test_an_absurd_expires_in_at_login_counts_as_absent(faulty, value):
    """`expires_in: 1e30` from the IdP used to trap converting it to an integer: one token answer
    took the gateway down for everyone. Such a value now counts as absent (the JWT's own `exp`
    schedules the refresh instead)."""
    idp, porteiro = faulty
    idp.faults["/token"] = ("set", "expires_in", value)
    session, echo = log_in(idp.provider, porteiro)
    assert porteiro.process.poll() is None, "the gateway is still running"
    again = session.get(porteiro.url + "/app/again", headers=HTML, allow_redirects=False, timeout=10)
    assert again.status_code == 200 and again.json()["headers"]["x-forwarded-user"] == "maria"


@pytest.mark.parametrize("value", [-1, -3600, 0], ids=["minus-one", "an-hour-ago", "zero"])
def test_an_access_token_expired_on_arrival_fails_the_login(faulty, value):
    """A negative `expires_in` once counted as absent, and the token was forwarded (the third red
    team): a token the IdP says is already expired fails the login instead, with a clear page."""
    idp, porteiro = faulty
    idp.faults["/token"] = ("set", "expires_in", value)
    session, page = attempt_login(idp.provider, porteiro)
    assert page.status_code == 502 and "could not complete the sign-in" in page.text
    assert session_cookie(session) == []
    wait_for_log(porteiro, "access token expired")
    assert porteiro.process.poll() is None, "the gateway is still running"
    idp.faults.clear()
    log_in(idp.provider, porteiro)


def test_a_token_answer_that_says_error_fails_the_login_whatever_else_it_carries(faulty):
    """A 200 with `error` beside an `access_token` (red team 6 saw one used for token exchange)
    is a refusal at every grant: no session from it."""
    idp, porteiro = faulty
    idp.faults["/token"] = ("set", "error", "invalid_grant")
    session, page = attempt_login(idp.provider, porteiro)
    assert page.status_code == 502 and "could not complete the sign-in" in page.text
    assert session_cookie(session) == []
    idp.faults.clear()
    log_in(idp.provider, porteiro)


def test_an_absurd_expires_in_at_refresh_counts_as_absent(faulty):
    idp, porteiro = faulty
    session, echo = log_in(idp.provider, porteiro)
    first_token = echo["headers"]["authorization"]
    idp.faults["/token"] = ("set", "expires_in", 1e30)
    time.sleep(3)  # tokens live 5 s, Porteiro refreshes 3 s before expiry
    refreshed = session.get(porteiro.url + "/app/refreshed", headers=HTML, allow_redirects=False, timeout=10)
    assert porteiro.process.poll() is None, "the gateway is still running"
    assert refreshed.status_code == 200 and refreshed.json()["headers"]["authorization"] != first_token
    idp.faults.clear()
    time.sleep(3)
    later = session.get(porteiro.url + "/app/later", headers=HTML, allow_redirects=False, timeout=10)
    assert later.status_code == 200, "refreshed again by the token's own exp"


def test_an_expired_token_whose_refresh_fails_is_a_503_not_forwarded(faulty):
    """Before expiry a failing IdP leaves the old token in use (above); once it has expired the
    app must not get it: 503 with Retry-After, for pages and API calls alike, until the IdP
    answers again."""
    idp, porteiro = faulty
    session, echo = log_in(idp.provider, porteiro)
    expires = jwt_claims(echo["headers"]["authorization"].split(" ", 1)[1])["exp"]
    idp.faults["/token"] = ("status", 500)
    time.sleep(max(0.0, expires + 0.5 - time.time()))
    for headers in [HTML, {"Accept": "application/json"}]:
        down = session.get(porteiro.url + "/app/down", headers=headers, allow_redirects=False, timeout=10)
        assert down.status_code == 503 and down.headers["Retry-After"] == "5", (headers, down.status_code)
        assert "authorization" not in down.text and "x-forwarded-user" not in down.text, "nothing from the app"
    wait_for_log(porteiro, "token refresh failed; session kept")
    idp.faults.clear()
    time.sleep(5.5)  # a failed refresh is tried again after 5 s
    back = session.get(porteiro.url + "/app/back", headers=HTML, allow_redirects=False, timeout=10)
    assert back.status_code == 200
    assert jwt_claims(back.json()["headers"]["authorization"].split(" ", 1)[1])["exp"] > time.time()


def test_an_idp_that_answers_the_code_exchange_slowly_still_logs_in(tmp_path, upstream):
    """The ID token is checked against the clock after the exchange, not the callback's arrival:
    an IdP that takes 2.5 s (more than the e2e's 1 s clock skew) issues a token that is not "from
    the future"."""
    port = free_port()
    idp = FaultyProvider(port)
    porteiro = start_porteiro(tmp_path, idp.provider, upstream, port)
    try:
        idp.faults["/token"] = ("delay", 2.5)
        session, page = attempt_login(idp.provider, porteiro)
        assert page.status_code == 200, page.text[:300]
        assert "issuedInTheFuture" not in porteiro.log_text()
        assert session_cookie(session), "a session was made"
    finally:
        porteiro.process.terminate()
        porteiro.process.wait(timeout=10)
        idp.stop()
