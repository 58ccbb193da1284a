"""OpenID Connect Back-Channel Logout across replicas: two Porteiro processes share one real
PostgreSQL (started by scripts/test.sh); a logout posted to one ends the session on both. Logout
tokens are signed with a key the test adds to the IdP's JWKS (tests/e2e/faulty_provider.py)."""
import base64
import json
import os
import subprocess
import time
import uuid

import pytest
import requests
from conftest import ROOT, SAME_ORIGIN, free_port, start_porteiro
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from faulty_provider import FaultyProvider
from test_login import HTML, log_in

EVENT = "http://schemas.openid.net/event/backchannel-logout"
KID = "test-logout-key"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def public_jwk(key, kid=KID):
    numbers = key.public_key().public_numbers()
    as_bytes = lambda n: n.to_bytes((n.bit_length() + 7) // 8, "big")  # noqa: E731
    return {"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": b64url(as_bytes(numbers.n)),
            "e": b64url(as_bytes(numbers.e))}


def signed(claims, key, kid=KID, typ="logout+jwt"):
    """A compact RS256 JWS, made by hand: the test must also make tokens no library would.
    `typ`: the JOSE header's, or None for none."""
    header = {"alg": "RS256", "kid": kid} | ({"typ": typ} if typ else {})
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + b64url(signature)


def token_claims(access_token):
    payload = access_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def database():
    url, directory = os.environ.get("PORTEIRO_TEST_DATABASE_URL"), os.environ.get("PORTEIRO_TEST_POSTGRES_DIR")
    if not url or not directory:
        pytest.fail("PORTEIRO_TEST_DATABASE_URL / PORTEIRO_TEST_POSTGRES_DIR are not set: run `bash scripts/test.sh`, "
                    "which installs and starts PostgreSQL")
    return url, directory


class Replicas:
    def __init__(self, idp, a, b, key):
        self.idp, self.a, self.b, self.key = idp, a, b, key

    def logout_token(self, **changes):
        claims = {"iss": self.idp.issuer, "aud": "porteiro-dev", "iat": int(time.time()), "exp": int(time.time()) + 120,
                  "jti": str(uuid.uuid4()), "events": {EVENT: {}}}
        claims.update(changes)
        return signed({k: v for k, v in claims.items() if v is not None}, self.key)

    def post_logout(self, porteiro, token):
        return requests.post(porteiro.url + "/oauth2/backchannel_logout", data={"logout_token": token}, timeout=10)


@pytest.fixture
def replicas(tmp_path, upstream):
    url, _ = database()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    port_a, port_b = free_port(), free_port()
    idp = FaultyProvider(port_a)
    idp.faults["/jwks"] = ("extra_key", public_jwk(key))
    shared = f'database:\n  url: "{url}"\nrevocation:\n  store: postgres\n  poll_interval: 1s\n  max_staleness: 3s\n'
    a = start_porteiro(tmp_path, idp.provider, upstream, port_a, sections=shared)
    # Behind one load balancer both answer for the same public URL; the test talks to each directly.
    b = start_porteiro(tmp_path, idp.provider, upstream, port_b, public_url=a.url, sections=shared)
    yield Replicas(idp, a, b, key)
    for porteiro in (a, b):
        porteiro.process.terminate()
        porteiro.process.wait(timeout=10)
    idp.stop()


def signed_in_as(session, porteiro, path="/app/check"):
    response = session.get(porteiro.url + path, headers=HTML, allow_redirects=False, timeout=10)
    return response, response.json()["headers"].get("x-forwarded-user") if response.status_code == 200 else None


def wait_signed_out(session, replica, timeout=15):
    """Polls until the replica treats the session as signed out. The revocation arrives by NOTIFY
    (or the 1 s poll), usually in milliseconds; the bound only keeps a loaded machine from failing
    the test (`PostgresReplicaTests` tells NOTIFY from polling)."""
    deadline = time.time() + timeout
    while signed_in_as(session, replica)[1] is not None:
        assert time.time() < deadline, f"the revocation never reached {replica.url}"
        time.sleep(0.1)


def test_a_logout_posted_to_one_replica_ends_the_session_on_the_other(replicas):
    session, echo = log_in(replicas.idp.provider, replicas.a)
    assert signed_in_as(session, replicas.b)[1] == "maria", "one login, served by both replicas"
    sid = token_claims(echo["headers"]["authorization"].split(" ", 1)[1])["sid"]
    token = replicas.logout_token(sid=sid)
    posted = replicas.post_logout(replicas.a, token)
    assert posted.status_code == 200 and posted.headers["Cache-Control"] == "no-store"
    started = time.time()
    while True:
        response, user = signed_in_as(session, replicas.b)
        if user is None:
            break
        assert time.time() - started < 2, "replica B still accepts the session 2 s after the logout"
        time.sleep(0.05)
    assert response.status_code == 302 and response.headers["Location"].startswith(replicas.idp.issuer)
    assert "_porteiro=; Path=/; Max-Age=0" in response.headers["Set-Cookie"], "the ended session's cookies are cleared"
    assert signed_in_as(session, replicas.a)[1] is None
    replay = replicas.post_logout(replicas.b, token)
    assert replay.status_code == 400 and "replayedTokenID" in replay.text, "a jti is used once across replicas"
    again, _ = log_in(replicas.idp.provider, replicas.a)
    assert signed_in_as(again, replicas.b)[1] == "maria", "a new login is a new session"


def test_signing_out_at_the_provider_ends_the_session_on_every_replica(replicas):
    """The real thing: the IdP itself posts the logout token when its session ends (the
    development provider, as Keycloak does), here to replica A; replica B follows."""
    session, _ = log_in(replicas.idp.provider, replicas.a)
    assert signed_in_as(session, replicas.b)[1] == "maria"
    signed_out = session.get(replicas.idp.issuer + "/logout", timeout=10)  # its own cookie names the session
    assert signed_out.status_code == 200 and "signed out" in signed_out.text
    started = time.time()
    while signed_in_as(session, replicas.b)[1] is not None:
        assert time.time() - started < 2, "replica B still accepts the session 2 s after the IdP's logout"
        time.sleep(0.05)
    assert 'msg="back-channel logout"' in replicas.a.log_text()


def test_a_subject_logout_ends_every_session_begun_before_it(replicas):
    first, echo = log_in(replicas.idp.provider, replicas.a)
    second, _ = log_in(replicas.idp.provider, replicas.a, path="/app/second-browser")
    subject = token_claims(echo["headers"]["authorization"].split(" ", 1)[1])["sub"]
    assert replicas.post_logout(replicas.b, replicas.logout_token(sub=subject)).status_code == 200
    wait_signed_out(first, replicas.a)
    wait_signed_out(second, replicas.a)


@pytest.mark.parametrize("change, reason", [
    ({"aud": "someone-else"}, "wrongAudience"),
    ({"nonce": "n-1"}, "nonceNotAllowed"),
    ({"events": None}, "notALogoutToken"),
    ({"iss": "https://evil.example.org"}, "wrongIssuer"),
    ({"jti": None}, "missingTokenID"),
    ({"iat": int(time.time()) - 3600}, "tooOld"),
], ids=["audience", "nonce", "events", "issuer", "jti", "old"])
def test_bad_logout_tokens_are_refused_and_end_nothing(replicas, change, reason):
    session, echo = log_in(replicas.idp.provider, replicas.a)
    sid = token_claims(echo["headers"]["authorization"].split(" ", 1)[1])["sid"]
    refused = replicas.post_logout(replicas.a, replicas.logout_token(sid=sid, **change))
    assert refused.status_code == 400 and refused.headers["Cache-Control"] == "no-store"
    assert refused.json()["error"] == "invalid_request" and reason in refused.json()["error_description"]
    time.sleep(1.2)
    assert signed_in_as(session, replicas.b)[1] == "maria"


def test_unsigned_or_foreign_tokens_and_wrong_requests_are_refused(replicas):
    session, echo = log_in(replicas.idp.provider, replicas.a)
    sid = token_claims(echo["headers"]["authorization"].split(" ", 1)[1])["sid"]
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = signed({"iss": replicas.idp.issuer, "aud": "porteiro-dev", "iat": int(time.time()), "jti": "x", "sid": sid,
                     "events": {EVENT: {}}}, stranger)
    assert replicas.post_logout(replicas.a, forged).status_code == 400, "signed with a key the IdP never published"
    header, payload, _ = replicas.logout_token(sid=sid).split(".")
    assert replicas.post_logout(replicas.a, header + "." + payload + ".").status_code == 400, "no signature"
    assert requests.post(replicas.a.url + "/oauth2/backchannel_logout", data={}, timeout=10).status_code == 400
    assert requests.get(replicas.a.url + "/oauth2/backchannel_logout", timeout=10).status_code == 405
    huge = requests.post(replicas.a.url + "/oauth2/backchannel_logout", data={"logout_token": "x" * 100_000}, timeout=10)
    assert huge.status_code == 413
    time.sleep(1.2)
    assert signed_in_as(session, replicas.b)[1] == "maria"


def test_a_database_outage_keeps_requests_served_and_fails_readiness(replicas):
    _, directory = database()
    session, echo = log_in(replicas.idp.provider, replicas.a)
    sid = token_claims(echo["headers"]["authorization"].split(" ", 1)[1])["sid"]
    postgres = ["bash", str(ROOT / "scripts" / "postgres.sh")]
    subprocess.run(postgres + ["stop", directory], check=True)
    try:
        deadline = time.time() + 6
        while time.time() < deadline:
            for replica in (replicas.a, replicas.b):
                assert signed_in_as(session, replica)[1] == "maria", "requests keep being served"
            time.sleep(0.25)
        assert requests.get(replicas.a.url + "/ready", timeout=5).status_code == 503, "stale past max_staleness"
        unrecorded = replicas.post_logout(replicas.a, replicas.logout_token(sid=sid))
        assert unrecorded.status_code == 503 and unrecorded.headers["Retry-After"], "the IdP may retry"
        assert "revocation store unreachable" in replicas.a.log_text()
    finally:
        subprocess.run(postgres + ["start", directory], check=True, stdout=subprocess.DEVNULL)
    deadline = time.time() + 15
    while requests.get(replicas.b.url + "/ready", timeout=5).status_code != 200:
        assert time.time() < deadline, "not ready again after the database came back"
        time.sleep(0.2)
    assert replicas.post_logout(replicas.b, replicas.logout_token(sid=sid)).status_code == 200
    wait_signed_out(session, replicas.a)


def test_a_sign_out_on_one_replica_ends_copies_of_the_cookie_on_every_replica(replicas):
    """Sign-out revokes the session by its random id in the shared revocation store: a copy of
    the cookie (sessions live whole in cookies here) opens nothing on either replica afterwards.
    The IdP's end-session redirect is not followed, so no back-channel logout is involved."""
    session, _ = log_in(replicas.idp.provider, replicas.a)
    assert signed_in_as(session, replicas.b)[1] == "maria"
    copy = requests.Session()
    for cookie in session.cookies:
        if cookie.name.startswith("_porteiro"):
            copy.cookies.set(cookie.name, cookie.value, domain="127.0.0.1", path="/")
    out = session.get(replicas.a.url + "/oauth2/sign_out", headers=SAME_ORIGIN, allow_redirects=False, timeout=10)
    assert out.status_code == 302 and out.headers["Location"].startswith(replicas.idp.issuer)
    assert signed_in_as(copy, replicas.a)[1] is None, "refused at once where the sign-out happened"
    started = time.time()
    while signed_in_as(copy, replicas.b)[1] is not None:
        assert time.time() - started < 2, "replica B still honours a copy of a signed-out session after 2 s"
        time.sleep(0.05)
    assert 'msg="back-channel logout"' not in replicas.a.log_text() + replicas.b.log_text()
