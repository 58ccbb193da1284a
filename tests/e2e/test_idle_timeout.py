"""`session.idle_timeout`: a session unused that long ends at its next request, on both stores —
in the cookie (the last activity sealed inside it) and in PostgreSQL (in the row, so activity seen
by one replica keeps the session alive on the other). The mock provider's tokens live 5 s and are
refreshed on the way, as they would be in production."""
import time

import pytest
import requests
from conftest import free_port, start_mock_provider, start_porteiro, stop
from test_backchannel_logout import database
from test_login import HTML, log_in

IDLE = 4  # seconds; activity is recorded at most once a second (a tenth, at least 1 s)


@pytest.fixture(params=["cookie", "postgres"])
def gateways(request, tmp_path, upstream):
    """Two replicas sharing the session secret (and, for postgres, the database)."""
    provider = start_mock_provider()
    extra = dict(session_extra=f"  idle_timeout: {IDLE}s\n", refresh_before=None)
    if request.param == "postgres":
        extra.update(session_store="postgres", sections=f'database:\n  url: "{database()[0]}"\n')
    a = start_porteiro(tmp_path, provider, upstream, free_port(), **extra)
    b = start_porteiro(tmp_path, provider, upstream, free_port(), public_url=a.url, **extra)
    yield request.param, provider, a, b
    stop(a.process, b.process, provider.process)


def page(session, porteiro, path="/app/x"):
    return session.get(porteiro.url + path, headers=HTML, allow_redirects=False, timeout=10)


def test_a_used_session_outlives_the_idle_timeout_and_an_unused_one_ends(gateways):
    store, provider, a, b = gateways
    session, _ = log_in(provider, a)
    started, set_cookies, answers = time.monotonic(), 0, 0
    while time.monotonic() - started < 2 * IDLE:  # busy for twice the timeout, on both replicas
        answer = page(session, a if answers % 2 else b)
        assert answer.status_code == 200, f"{store}: signed out while in use after {time.monotonic() - started:.1f}s"
        set_cookies += "_porteiro=" in answer.headers.get("Set-Cookie", "")
        answers += 1
        time.sleep(0.2)
    assert answers >= 30
    if store == "cookie":
        assert 3 <= set_cookies <= 2 * IDLE + 3, f"a fresh cookie about once a second, not per request ({set_cookies}/{answers})"
    else:
        assert set_cookies == 0, "the row records the activity; the cookie never changes"
    time.sleep(IDLE + 0.5)
    ended = page(session, b)
    assert ended.status_code == 302 and ended.headers["Location"].startswith(provider.issuer), ended.headers
    assert any(c.startswith("_porteiro=;") or "_porteiro=; " in c or "Max-Age=0" in c
               for c in ended.headers.get("Set-Cookie", "").split(", ")), "the idle session's cookie is cleared"
    metrics = requests.get(b.url + "/metrics", timeout=10).text
    assert 'porteiro_session_cookie_rejected_total{reason="idle"}' in metrics


def test_without_an_idle_timeout_an_unused_session_lasts_its_lifetime(tmp_path, upstream):
    """The shipped default: no idle timeout."""
    provider = start_mock_provider()
    porteiro = start_porteiro(tmp_path, provider, upstream, free_port(), refresh_before=None)
    try:
        session, _ = log_in(provider, porteiro)
        time.sleep(IDLE + 0.5)
        assert page(session, porteiro).status_code == 200
    finally:
        stop(porteiro.process, provider.process)
