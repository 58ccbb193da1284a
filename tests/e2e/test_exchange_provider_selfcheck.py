"""The token-exchange provider (exchange_provider.py) on its own, without Porteiro: a scripted
browser logs in by the authorization code flow with PKCE, a client redeems the code, then trades
the access token for one meant for another audience (RFC 8693)."""
import base64
import hashlib
import http.server
import json
import secrets
import threading
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from exchange_provider import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE, start_exchange_provider


class Callback(http.server.BaseHTTPRequestHandler):
    """Stands in for the gateway's /oauth2/callback: keeps each query it is sent."""

    def do_GET(self):
        self.server.queries.append(dict(parse_qsl(urlsplit(self.path).query)))
        body = b"callback reached"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def gateway():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Callback)
    server.queries = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


@pytest.fixture(scope="module")
def provider(tmp_path_factory, gateway):
    started = time.monotonic()
    provider = start_exchange_provider(tmp_path_factory.mktemp("exchange"), f"http://127.0.0.1:{gateway.server_address[1]}")
    provider.startup_seconds = time.monotonic() - started
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def discovery(provider):
    return requests.get(provider.issuer + "/.well-known/openid-configuration", timeout=10).json()


def b64decode(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verified_claims(token, jwks):
    """The claims of an RS256 JWT whose signature one of `jwks`'s keys verifies."""
    head, payload, signature = token.split(".")
    header = json.loads(b64decode(head))
    assert header["alg"] == "RS256"
    jwk = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    key = rsa.RSAPublicNumbers(int.from_bytes(b64decode(jwk["e"]), "big"), int.from_bytes(b64decode(jwk["n"]), "big")).public_key()
    key.verify(b64decode(signature), f"{head}.{payload}".encode(), padding.PKCS1v15(), hashes.SHA256())
    return json.loads(b64decode(payload))


def log_in(provider, discovery, gateway, user):
    """The authorization code flow with PKCE (S256), as a browser and a client would run it; returns
    the token response and the session (which holds the provider's cookie)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    state, nonce = secrets.token_urlsafe(12), secrets.token_urlsafe(12)
    redirect_uri = f"http://127.0.0.1:{gateway.server_address[1]}/oauth2/callback"
    session = requests.Session()
    page = session.get(discovery["authorization_endpoint"], params={
        "response_type": "code", "client_id": provider.client_id, "redirect_uri": redirect_uri,
        "scope": "openid profile email", "state": state, "nonce": nonce,
        "code_challenge": challenge, "code_challenge_method": "S256"}, timeout=10)
    assert page.status_code == 200 and 'name="password"' in page.text
    final = provider.log_in(session, page, user)
    assert final.status_code == 200 and final.text == "callback reached"
    callback = gateway.queries[-1]
    assert callback["state"] == state and callback["iss"] == provider.issuer
    answer = requests.post(discovery["token_endpoint"], data={
        "grant_type": "authorization_code", "code": callback["code"], "redirect_uri": redirect_uri,
        "code_verifier": verifier}, auth=(provider.client_id, provider.client_secret), timeout=10)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    tokens["nonce"] = nonce
    return tokens, session


def exchange(provider, discovery, subject_token, **extra):
    return requests.post(discovery["token_endpoint"], data={
        "grant_type": TOKEN_EXCHANGE, "subject_token": subject_token, "subject_token_type": ACCESS_TOKEN_TYPE,
        **extra}, auth=(provider.client_id, provider.client_secret), timeout=10)


def test_discovery_announces_pkce_and_token_exchange(provider, discovery):
    assert provider.startup_seconds < 20
    assert discovery["issuer"] == provider.issuer
    assert "S256" in discovery["code_challenge_methods_supported"]
    assert TOKEN_EXCHANGE in discovery["grant_types_supported"]
    assert "RS256" in discovery["id_token_signing_alg_values_supported"]
    jwks = requests.get(discovery["jwks_uri"], timeout=10).json()
    assert [key["kty"] for key in jwks["keys"]] == ["RSA"]


def test_code_flow_with_pkce_gives_signed_tokens_and_userinfo(provider, discovery, gateway):
    tokens, _ = log_in(provider, discovery, gateway, "maria")
    jwks = requests.get(discovery["jwks_uri"], timeout=10).json()
    id_token = verified_claims(tokens["id_token"], jwks)
    assert id_token["iss"] == provider.issuer and provider.client_id in id_token["aud"]
    assert id_token["sub"] == "maria" and id_token["nonce"] == tokens["nonce"]
    assert id_token["email"] == "maria@example.org" and id_token["email_verified"] is True
    access = verified_claims(tokens["access_token"], jwks)
    assert access["sub"] == "maria" and access["aud"] == [provider.client_id]
    assert access["exp"] - access["iat"] == 60 and tokens["expires_in"] == 60
    userinfo = requests.get(discovery["userinfo_endpoint"], headers={"Authorization": f"Bearer {tokens['access_token']}"},
                            timeout=10)
    assert userinfo.status_code == 200
    assert userinfo.json()["email"] == "maria@example.org" and userinfo.json()["preferred_username"] == "maria"


def test_token_exchange_for_an_allowed_audience(provider, discovery, gateway):
    tokens, _ = log_in(provider, discovery, gateway, "joao")
    answer = exchange(provider, discovery, tokens["access_token"], audience="billing")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE and body["token_type"] == "Bearer"
    assert 0 < body["expires_in"] <= 60
    assert body["access_token"] != tokens["access_token"]
    claims = verified_claims(body["access_token"], requests.get(discovery["jwks_uri"], timeout=10).json())
    assert claims["aud"] == ["billing"] and claims["sub"] == "joao" and claims["iss"] == provider.issuer
    assert claims["exp"] > time.time()
    narrowed = exchange(provider, discovery, tokens["access_token"], audience="reports", scope="openid")
    assert narrowed.status_code == 200, narrowed.text
    assert narrowed.json()["scope"] == "openid"


def test_token_exchange_refuses_an_audience_it_does_not_know(provider, discovery, gateway):
    tokens, _ = log_in(provider, discovery, gateway, "maria")
    answer = exchange(provider, discovery, tokens["access_token"], audience="forbidden-app")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_target"
    assert "access_token" not in answer.json()


def test_token_exchange_needs_the_client_and_a_live_subject_token(provider, discovery, gateway):
    tokens, _ = log_in(provider, discovery, gateway, "maria")
    anonymous = requests.post(discovery["token_endpoint"], data={
        "grant_type": TOKEN_EXCHANGE, "subject_token": tokens["access_token"], "subject_token_type": ACCESS_TOKEN_TYPE,
        "audience": "billing", "client_id": provider.client_id}, timeout=10)
    assert anonymous.status_code == 401 and anonymous.json()["error"] == "invalid_client"
    garbage = exchange(provider, discovery, "not-a-token", audience="billing")
    assert garbage.status_code == 400 and garbage.json()["error"] == "invalid_request"


def test_refresh_token_grant(provider, discovery, gateway):
    tokens, _ = log_in(provider, discovery, gateway, "maria")
    answer = requests.post(discovery["token_endpoint"], data={
        "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(provider.client_id, provider.client_secret), timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"] != tokens["access_token"] and answer.json()["expires_in"] == 60


def test_wrong_password_stays_at_the_provider(provider, discovery, gateway):
    session = requests.Session()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    page = session.get(discovery["authorization_endpoint"], params={
        "response_type": "code", "client_id": provider.client_id,
        "redirect_uri": f"http://127.0.0.1:{gateway.server_address[1]}/oauth2/callback", "scope": "openid",
        "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}, timeout=10)
    answer = provider.log_in(session, page, "maria", password="wrong")
    assert answer.status_code == 403 and not answer.history
