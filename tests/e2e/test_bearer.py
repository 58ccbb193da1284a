"""API clients calling `auth: bearer` routes with JWT access tokens.

Valid tokens come from the development provider (`porteiro dev-provider`), whose access tokens are
RS256 JWTs with `typ: Bearer` and `aud` = its client id, as Keycloak's are. The other providers
hand out opaque access tokens; their ID tokens — JWTs with the very audience the route accepts —
must be refused: an ID token proves a login at a client, it grants no call to an API. Tokens no
provider here would issue (an ID token's claims, a logout token's `events`, another JOSE `typ`, a
foreign issuer) are signed with a key of the test's own, added to the provider's JWKS by
tests/e2e/faulty_provider.py."""
import time
import uuid
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from conftest import SAME_ORIGIN, free_port, jwt_claims, start_porteiro
from cryptography.hazmat.primitives.asymmetric import rsa
from faulty_provider import FaultyProvider
from test_backchannel_logout import public_jwk, signed
from test_login import HTML, log_in


def id_token_of(provider, porteiro):
    """The ID token of a real login, as the sign-out redirect hands it to the provider."""
    session, _ = log_in(provider, porteiro)
    out = session.get(porteiro.url + "/oauth2/sign_out", headers=SAME_ORIGIN, allow_redirects=False, timeout=10)
    return parse_qs(urlparse(out.headers["Location"]).query)["id_token_hint"][0]


def call(porteiro, token, path="/api/items"):
    return requests.get(porteiro.url + path, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False,
                        timeout=10)


def refused_as_invalid(response):
    return response.status_code == 401 and 'error="invalid_token"' in response.headers.get("WWW-Authenticate", "")


class DevAPI:
    def __init__(self, idp, porteiro, key):
        self.idp, self.porteiro, self.key = idp, porteiro, key

    def token(self, header_typ="JWT", **changes):
        """An access token as the provider would sign one, with `changes` (None removes a claim) and
        `header_typ` as its JOSE header's `typ`."""
        now = int(time.time())
        claims = {"iss": self.idp.issuer, "sub": "dev-maria", "aud": "porteiro-dev", "azp": "porteiro-dev", "iat": now,
                  "exp": now + 60, "jti": str(uuid.uuid4()), "typ": "Bearer", "preferred_username": "maria",
                  "groups": ["servidores"], "scope": "openid profile email"}
        claims.update(changes)
        return signed({k: v for k, v in claims.items() if v is not None}, self.key, typ=header_typ)


@pytest.fixture(scope="module")
def dev_api(tmp_path_factory, upstream):
    """The development provider (behind the faulty-provider proxy, which adds the test's key to its
    JWKS) and a Porteiro whose /api/ route accepts its client id as audience."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    port = free_port()
    idp = FaultyProvider(port)
    idp.faults["/jwks"] = ("extra_key", public_jwk(key))
    porteiro = start_porteiro(tmp_path_factory.mktemp("bearer"), idp.provider, upstream, port)
    yield DevAPI(idp, porteiro, key)
    porteiro.process.terminate()
    porteiro.process.wait(timeout=10)
    idp.stop()


def test_a_providers_jwt_access_token_passes_until_it_expires(dev_api):
    """The real thing: the access token the provider issued at a login, sent by an API client."""
    porteiro = dev_api.porteiro
    _, echo = log_in(dev_api.idp.provider, porteiro)
    token = echo["headers"]["authorization"].split(" ", 1)[1]
    claims = jwt_claims(token)
    assert claims["typ"] == "Bearer" and claims["aud"] == "porteiro-dev", claims
    ok = call(porteiro, token)
    assert ok.status_code == 200, ok.text[:300]
    assert ok.json()["headers"]["authorization"] == f"Bearer {token}"
    assert ok.json()["headers"]["x-forwarded-user"] == "maria"
    assert call(porteiro, token).status_code == 200, "a remembered token passes too"
    assert refused_as_invalid(call(porteiro, token, "/api-or-session/x")), "a route for another audience refuses it"
    time.sleep(max(0.0, claims["exp"] + 1.5 - time.time()))  # past exp and the 1 s clock skew
    assert refused_as_invalid(call(porteiro, token)), "an expired token is refused, remembered or not"


def test_a_token_signed_by_the_providers_key_passes(dev_api):
    """The baseline for the refusals below: the test's key is trusted like the provider's."""
    ok = call(dev_api.porteiro, dev_api.token())
    assert ok.status_code == 200, ok.text[:300]
    assert ok.json()["headers"]["x-forwarded-user"] == "maria"
    assert call(dev_api.porteiro, dev_api.token(header_typ="at+jwt")).status_code == 200, "RFC 9068's typ"
    assert call(dev_api.porteiro, dev_api.token(header_typ=None)).status_code == 200, "no typ at all"


def test_the_providers_own_id_token_is_refused_as_an_access_token(dev_api):
    id_token = id_token_of(dev_api.idp.provider, dev_api.porteiro)
    claims = jwt_claims(id_token)
    assert claims["aud"] == "porteiro-dev", "the audience the route accepts: only its kind tells it apart"
    assert refused_as_invalid(call(dev_api.porteiro, id_token))


@pytest.mark.parametrize("header_typ, changes", [
    ("JWT", {"nonce": "n-0S6_WzA2Mj"}),
    ("JWT", {"at_hash": "77QmUPtjPfzWtF2AnpK9RQ"}),
    ("JWT", {"c_hash": "LDktKdoQak3Pk0cnXxCltA"}),
    ("JWT", {"events": {"http://schemas.openid.net/event/backchannel-logout": {}}}),
    ("JWT", {"typ": "ID"}),
    ("JWT", {"typ": "Logout"}),
    ("logout+jwt", {}),
    ("id_token+jwt", {}),
    ("JWT", {"iss": "https://evil.example.org"}),
], ids=["nonce", "at_hash", "c_hash", "events", "claim-typ-ID", "claim-typ-Logout", "header-logout+jwt",
        "header-id_token+jwt", "foreign-issuer"])
def test_tokens_that_are_no_access_tokens_are_refused(dev_api, header_typ, changes):
    """Signed with a key in the provider's JWKS and carrying the route's audience, yet ID tokens
    (a nonce, a hash of another token, a typ other than Bearer), logout tokens (`events`), tokens
    typed otherwise in their JOSE header, or from another issuer, are refused."""
    assert refused_as_invalid(call(dev_api.porteiro, dev_api.token(header_typ, **changes)))


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", [2**63, 1e30, -2**63 - 1], ids=["2^63", "1e30", "below-int64"])
def test_a_time_claim_no_integer_holds_does_not_take_the_gateway_down(dev_api, claim, value):
    """A numeric claim of 2^63 or more (or 1e30) used to trap converting it to Int64: one token
    signed by the IdP took the gateway down for everyone. Whatever the answer to such a token,
    the process keeps serving."""
    answer = call(dev_api.porteiro, dev_api.token(**{claim: value}))
    assert answer.status_code in (200, 401), answer.status_code
    assert dev_api.porteiro.process.poll() is None, "the gateway is still running"
    assert call(dev_api.porteiro, dev_api.token()).status_code == 200


def test_a_token_signed_by_an_unknown_key_is_refused(dev_api):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = DevAPI(dev_api.idp, dev_api.porteiro, stranger).token()
    assert call(dev_api.porteiro, forged).status_code == 401


def test_id_tokens_of_the_other_providers_are_refused(stack):
    """oidc-provider-mock and django-oauth-toolkit issue opaque access tokens; their ID tokens
    (audience = the client id the route accepts, a nonce) are not a way in."""
    provider, porteiro = stack
    id_token = id_token_of(provider, porteiro)
    assert provider.client_id in str(jwt_claims(id_token)["aud"])
    assert refused_as_invalid(call(porteiro, id_token))


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
