"""API clients calling `auth: bearer` routes with JWTs signed by the real provider.

The providers here hand out opaque access tokens, so their ID token — a JWT signed with the
provider's JWKS key, `aud` = the client id — stands in as the API client's JWT access token; the
route's `audiences` names that client id."""
import time

import requests
from conftest import start_mock_provider
from test_login import HTML, log_in


def id_token_of(provider, porteiro):
    session, _ = log_in(provider, porteiro)
    out = session.get(porteiro.url + "/oauth2/sign_out", allow_redirects=False, timeout=10)
    from urllib.parse import parse_qs, urlparse
    return parse_qs(urlparse(out.headers["Location"]).query)["id_token_hint"][0]


def test_bearer_tokens_valid_expired_wrong_audience_wrong_issuer(stack):
    provider, porteiro = stack
    token = id_token_of(provider, porteiro)
    ok = requests.get(porteiro.url + "/api/items", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert ok.status_code == 200, ok.text[:300]
    assert ok.json()["headers"]["authorization"] == f"Bearer {token}"
    assert ok.json()["headers"]["x-forwarded-user"] == "maria"
    again = requests.get(porteiro.url + "/api/items", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert again.status_code == 200, "a remembered token passes too"

    wrong_audience = requests.get(porteiro.url + "/api-or-session/x", headers={"Authorization": f"Bearer {token}"},
                                  allow_redirects=False, timeout=10)
    assert wrong_audience.status_code == 401 and 'error="invalid_token"' in wrong_audience.headers["WWW-Authenticate"]

    other = start_mock_provider()
    try:
        from conftest import Provider
        foreign_session = requests.Session()
        page = foreign_session.get(
            other.issuer + "/oauth2/authorize", timeout=10,
            params={"response_type": "code", "client_id": provider.client_id, "redirect_uri": "http://127.0.0.1:9/cb",
                    "scope": "openid", "state": "s", "nonce": "n"})
        code = None
        answer = foreign_session.post(page.url, data={"sub": "maria"}, allow_redirects=False, timeout=10)
        from urllib.parse import parse_qs, urlparse
        code = parse_qs(urlparse(answer.headers["Location"]).query)["code"][0]
        tokens = requests.post(other.issuer + "/oauth2/token", timeout=10, auth=(provider.client_id, "x"),
                               data={"grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:9/cb"}).json()
        foreign = requests.get(porteiro.url + "/api/items", headers={"Authorization": f"Bearer {tokens['id_token']}"}, timeout=10)
        assert foreign.status_code == 401, "a token from another issuer is refused"
    finally:
        other.process.terminate()

    time.sleep(7)  # mock ID tokens live 5 s, the e2e clock skew is 1 s (django's live 300 s)
    if provider.kind == "mock":
        expired = requests.get(porteiro.url + "/api/items", headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert expired.status_code == 401, "an expired token is refused, remembered or not"


def test_bearer_routes_never_redirect_and_answer_cors(stack):
    _, porteiro = stack
    response = requests.get(porteiro.url + "/api/items", headers={**HTML, "Origin": "https://spa.example.org"},
                            allow_redirects=False, timeout=10)
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == "https://spa.example.org"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"
    assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]
    stranger = requests.get(porteiro.url + "/api/items", headers={"Origin": "https://evil.example"}, timeout=10)
    assert stranger.status_code == 401 and "Access-Control-Allow-Origin" not in stranger.headers
    garbage = requests.get(porteiro.url + "/api/items", headers={"Authorization": "Bearer not.a.jwt"}, timeout=10)
    assert garbage.status_code == 401


def test_bearer_route_accepts_a_session_when_allowed(stack):
    provider, porteiro = stack
    session, _ = log_in(provider, porteiro)
    assert session.get(porteiro.url + "/api-or-session/x", timeout=10).json()["headers"]["x-forwarded-user"] == "maria"
    assert session.get(porteiro.url + "/api/items", allow_redirects=False, timeout=10).status_code == 401
