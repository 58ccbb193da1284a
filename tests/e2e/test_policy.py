"""Who may pass: group policies, methods, optional routes and skip-auth rules, with real logins."""
import time

import requests
from conftest import TOKEN_SECONDS, django_shell, free_port, start_django_provider, start_porteiro, stop
from test_login import HTML, log_in


def test_group_policy_admits_members_and_shows_others_a_403(stack):
    provider, porteiro = stack
    maria, _ = log_in(provider, porteiro, "maria")
    assert maria.get(porteiro.url + "/admin/x", headers=HTML, timeout=10).json()["headers"]["x-forwarded-groups"] == "servidores"
    joao, _ = log_in(provider, porteiro, "joao", path="/app/joao")
    denied = joao.get(porteiro.url + "/admin/x", headers={**HTML, "Accept-Language": "pt-BR"}, timeout=10)
    assert denied.status_code == 403
    assert "Você entrou como joao" in denied.text and 'href="/oauth2/sign_out"' in denied.text
    as_json = joao.get(porteiro.url + "/admin/x", headers={"Accept": "application/json"}, timeout=10)
    assert as_json.status_code == 403 and as_json.json()["sign_out"] == "/oauth2/sign_out"
    assert "access denied" in porteiro.log_text() and "user=joao" in porteiro.log_text()
    assert maria.post(porteiro.url + "/admin/x", timeout=10).status_code == 405


def test_forward_auth_refuses_forwarded_uris_from_untrusted_peers(stack):
    """An original URI from a peer outside server.trusted_proxies is refused (403), not ignored:
    ignoring it (the old 202) skipped every route's policy when the front proxy was missing from
    that list. Without an original URI it is still a plain "signed in?" check."""
    provider, porteiro = stack
    joao, _ = log_in(provider, porteiro, "joao", path="/app/j")
    for trusted_only in [{"X-Forwarded-Uri": "/admin/x"}, {"X-Original-URL": "/admin/x"}, {"X-Original-URI": "/app/x"}]:
        refused = joao.get(porteiro.url + "/oauth2/auth", headers=trusted_only, timeout=10)
        assert refused.status_code == 403, f"{trusted_only}: this Porteiro trusts no proxy (got {refused.status_code})"
    assert "original URI from a peer not in server.trusted_proxies" in porteiro.log_text()
    assert joao.get(porteiro.url + "/oauth2/auth", timeout=10).status_code == 202, "no original URI: signed in"
    assert requests.get(porteiro.url + "/oauth2/auth", timeout=10).status_code == 401
    assert joao.get(porteiro.url + "/admin/x", timeout=10).status_code == 403
    assert 'rule="groups=[servidores]"' in porteiro.log_text(), "the log names the rule that was not met"


def test_optional_routes_forward_identity_only_when_signed_in(stack):
    provider, porteiro = stack
    anonymous = requests.get(porteiro.url + "/opt/x", headers=HTML, allow_redirects=False, timeout=10)
    assert anonymous.status_code == 200 and "x-forwarded-user" not in anonymous.json()["headers"]
    spoofed = requests.get(porteiro.url + "/opt/x", headers={"X-Forwarded-User": "admin"}, timeout=10)
    assert "x-forwarded-user" not in spoofed.json()["headers"]
    maria, _ = log_in(provider, porteiro)
    assert maria.get(porteiro.url + "/opt/x", timeout=10).json()["headers"]["x-forwarded-user"] == "maria"


def test_skip_auth_matches_the_normalized_path_only(stack):
    provider, porteiro = stack
    assert requests.get(porteiro.url + "/app/health", headers=HTML, allow_redirects=False, timeout=10).status_code == 200
    for tricky in ["/app/health/../secret", "/app/health%2f..%2fsecret", "/app/health;x/../secret", "/app/healthz"]:
        response = requests.get(porteiro.url + tricky, headers=HTML, allow_redirects=False, timeout=10)
        assert response.status_code in (302, 400), f"{tricky} must not skip sign-in (got {response.status_code})"


def test_email_rules_admit_only_verified_addresses(stack):
    """allow.emails, allow.email_domains and forward-auth's allowed_emails / allowed_email_domains
    read an address only when the IdP says `email_verified: true` (provider.require_verified_email,
    on by default): anyone can type any address into an IdP that does not check it. Both providers
    mark maria's verified and joao's not (tests/e2e/conftest.py, django_op/op/validators.py)."""
    provider, porteiro = stack
    maria, _ = log_in(provider, porteiro, "maria", path="/app/m")
    joao, _ = log_in(provider, porteiro, "joao", path="/app/j")
    for path in ["/by-email/x", "/by-domain/x"]:  # both users are listed by address and by domain
        assert maria.get(porteiro.url + path, headers=HTML, allow_redirects=False, timeout=10).status_code == 200, path
        assert joao.get(porteiro.url + path, headers=HTML, allow_redirects=False, timeout=10).status_code == 403, path
    auth = porteiro.url + "/oauth2/auth"
    for query, who in [("?allowed_emails=maria%40example.org", maria), ("?allowed_emails=joao%40example.org", joao)]:
        expected = 202 if who is maria else 403
        assert who.get(auth + query, timeout=10).status_code == expected, query
    assert maria.get(auth + "?allowed_email_domains=example.org", timeout=10).status_code == 202
    assert joao.get(auth + "?allowed_email_domains=example.org", timeout=10).status_code == 403
    assert joao.get(auth, timeout=10).status_code == 202, "joao is signed in all the same"


def test_leaving_a_group_takes_effect_within_one_token_lifetime(tmp_path, upstream):
    """Groups and claims are read again from the ID token a refresh returns (django-oauth-toolkit
    returns one on every refresh; Keycloak too): maria, removed from servidores at the IdP, loses
    /admin/ at the next refresh instead of keeping it for the whole session."""
    port = free_port()
    provider = start_django_provider(tmp_path, port)
    porteiro = start_porteiro(tmp_path, provider, upstream, port)
    try:
        maria, _ = log_in(provider, porteiro, "maria")
        assert maria.get(porteiro.url + "/admin/x", headers=HTML, allow_redirects=False, timeout=10).status_code == 200
        django_shell(provider, "from django.contrib.auth.models import Group, User; "
                               "User.objects.get(username='maria').groups.remove(Group.objects.get(name='servidores'))")
        deadline = time.time() + TOKEN_SECONDS + 2
        while (answer := maria.get(porteiro.url + "/admin/x", headers=HTML, allow_redirects=False, timeout=10)
               ).status_code == 200:
            assert time.time() < deadline, "still admitted past one token lifetime after leaving the group"
            time.sleep(0.3)
        assert answer.status_code == 403
        assert maria.get(porteiro.url + "/oauth2/userinfo", timeout=10).json()["groups"] == []
        assert maria.get(porteiro.url + "/app/x", headers=HTML, allow_redirects=False, timeout=10).status_code == 200, \
            "still signed in, only without the group"
    finally:
        stop(porteiro.process, provider.process)
