"""`session.store: postgres`: sessions too large for cookies live in the real PostgreSQL started by
scripts/test.sh; the cookie carries a sealed id, two Porteiro processes share the sessions, a
refresh keeps the cookie and a sign-out on one replica ends the session on the other."""
import time

import pytest
import requests
from conftest import SAME_ORIGIN, free_port, start_porteiro
from faulty_provider import FaultyProvider
from test_backchannel_logout import database, signed_in_as
from test_login import HTML, log_in

PADDING = 16_000


@pytest.fixture
def replicas(tmp_path, upstream):
    url, _ = database()
    port_a, port_b = free_port(), free_port()
    idp = FaultyProvider(port_a)
    idp.faults["/token"] = ("pad_access_token", PADDING)
    shared = f'database:\n  url: "{url}"\n'
    a = start_porteiro(tmp_path, idp.provider, upstream, port_a, sections=shared, session_store="postgres")
    b = start_porteiro(tmp_path, idp.provider, upstream, port_b, public_url=a.url, sections=shared, session_store="postgres")
    yield idp, a, b
    for porteiro in (a, b):
        porteiro.process.terminate()
        porteiro.process.wait(timeout=10)
    idp.stop()


def session_cookies(session):
    return {c.name: c.value for c in session.cookies if c.name.startswith("_porteiro")}


def test_a_session_too_large_for_cookies_lives_in_postgres_and_serves_both_replicas(replicas):
    idp, a, b = replicas
    session, echo = log_in(idp.provider, a)
    token = echo["headers"]["authorization"]
    assert len(token) > PADDING, "the app gets the whole token"
    cookies = session_cookies(session)
    assert list(cookies) == ["_porteiro"] and len(cookies["_porteiro"]) < 200, "only a sealed id in one small cookie"
    assert signed_in_as(session, b)[1] == "maria", "replica B reads the session from the database"
    time.sleep(3)  # tokens live 5 s, refreshed 3 s before expiry
    refreshed = session.get(b.url + "/app/refreshed", headers=HTML, allow_redirects=False, timeout=10)
    assert refreshed.status_code == 200 and refreshed.json()["headers"]["authorization"] != token
    assert "_porteiro=" not in refreshed.headers.get("Set-Cookie", ""), "the row changed, the cookie did not"
    again = session.get(a.url + "/app/again", headers=HTML, allow_redirects=False, timeout=10)
    assert again.json()["headers"]["authorization"] == refreshed.json()["headers"]["authorization"]


def test_a_sign_out_on_one_replica_ends_the_session_on_the_other(replicas):
    idp, a, b = replicas
    session, _ = log_in(idp.provider, a)
    assert signed_in_as(session, b)[1] == "maria"
    kept = session_cookies(session)["_porteiro"]
    out = session.get(a.url + "/oauth2/sign_out", headers=SAME_ORIGIN, allow_redirects=False, timeout=10)
    assert out.status_code == 302
    stolen = requests.Session()
    stolen.cookies.set("_porteiro", kept, domain="127.0.0.1", path="/")
    started = time.time()
    while signed_in_as(stolen, b)[1] is not None:
        assert time.time() - started < 6, "replica B still honours a signed-out session after its 5 s cache"
        time.sleep(0.2)
    assert signed_in_as(stolen, a)[1] is None, "the copied cookie is worthless once signed out"
