"""Route shadowing: ways a request could reach an app under a weaker route than the one meant for
it — a directory without its slash, an absolute-form target or an HTTP/2 `:authority` naming
another host than `Host`, letter case, and two routes sharing one upstream (which check-config and
serve warn about)."""
import os
import socket
import ssl
import struct
import subprocess

import pytest
import requests
from conftest import (COOKIE_SECRET, DEFAULT_ROUTES, PORTEIRO_BIN, Provider, free_port, make_certificate, raw_request,
                      start_mock_provider, start_porteiro, stop, tls_server_extra, write_config)
from test_login import HTML, log_in

CASE_INSENSITIVE_ROUTE = """\
  - path: /Reports/
    upstream: "{upstream}"
    case_insensitive: true
    allow: {{ groups: [servidores] }}
"""

SHADOWED_ROUTES = """\
  - host: portal.example.org
    path: /admin/
    upstream: "{upstream}"
    allow: {{ groups: [servidores] }}
  - path: /
    upstream: "{upstream}"
    auth: none
"""


@pytest.fixture(scope="module")
def routed(tmp_path_factory, upstream):
    """The usual routes, served over HTTPS with HTTP/2 offered by ALPN."""
    tmp = tmp_path_factory.mktemp("routes")
    provider = start_mock_provider()
    port = free_port()
    certificate, key = make_certificate(tmp)
    porteiro = start_porteiro(tmp, provider, upstream, port, public_url=f"https://127.0.0.1:{port}",
                              server_extra=tls_server_extra(certificate, key))
    porteiro.certificate = certificate
    yield provider, porteiro
    stop(porteiro.process, provider.process)


@pytest.fixture(scope="module")
def case_insensitive(tmp_path_factory, upstream):
    """The usual routes plus a case-insensitive /Reports/ for group servidores."""
    provider = start_mock_provider()
    porteiro = start_porteiro(tmp_path_factory.mktemp("case"), provider, upstream, free_port(),
                              routes=CASE_INSENSITIVE_ROUTE + DEFAULT_ROUTES)
    yield provider, porteiro
    stop(porteiro.process, provider.process)


def https_session(porteiro):
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment overrides `verify`
    session.verify = str(porteiro.certificate)
    return session


def sign_in(provider, porteiro, user):
    session = https_session(porteiro)
    page = session.get(porteiro.url + f"/app/{user}", headers=HTML, timeout=10)
    landed = provider.log_in(session, page, user)
    assert landed.status_code == 200 and landed.url == porteiro.url + f"/app/{user}", landed.text[:300]
    return session


def test_a_directory_without_its_slash_is_redirected_before_any_app_sees_it(routed):
    """`/admin` used to fall to the catch-all `/` route (any signed-in user), while many apps
    serve /admin/'s index at /admin. It is redirected to /admin/ instead — 301 for GET and HEAD,
    308 (method and body kept) for others — so /admin/'s rules decide."""
    provider, porteiro = routed
    joao = sign_in(provider, porteiro, "joao")
    for method, expected in [("GET", 301), ("HEAD", 301), ("POST", 308), ("DELETE", 308)]:
        answer = joao.request(method, porteiro.url + "/admin?tab=users", headers=HTML, allow_redirects=False,
                              timeout=10)
        assert answer.status_code == expected, f"{method}: {answer.status_code}"
        assert answer.headers["Location"] == "/admin/?tab=users"
        assert "application/json" not in answer.headers.get("Content-Type", ""), "nothing from the app"
    followed = joao.get(porteiro.url + "/admin", headers=HTML, timeout=10)
    assert followed.status_code == 403 and followed.url == porteiro.url + "/admin/"
    anonymous = https_session(porteiro).get(porteiro.url + "/admin", headers=HTML, allow_redirects=False, timeout=10)
    assert anonymous.status_code == 301 and anonymous.headers["Location"] == "/admin/"


def test_a_case_insensitive_route_applies_its_policy_in_every_case(case_insensitive):
    """For apps that ignore case (IIS), `case_insensitive: true` makes /REPORTS/ the same route
    as /Reports/, so no spelling reaches the app under the catch-all."""
    provider, porteiro = case_insensitive
    joao, _ = log_in(provider, porteiro, "joao", path="/app/joao")
    maria, _ = log_in(provider, porteiro, "maria")
    for path in ["/Reports/q", "/reports/q", "/REPORTS/q", "/rEpOrTs/q"]:
        assert joao.get(porteiro.url + path, headers=HTML, allow_redirects=False, timeout=10).status_code == 403, path
        seen = maria.get(porteiro.url + path, headers=HTML, allow_redirects=False, timeout=10)
        assert seen.status_code == 200 and seen.json()["path"] == path, path
    assert joao.get(porteiro.url + "/admin/q", headers=HTML, allow_redirects=False, timeout=10).status_code == 403
    other_case = joao.get(porteiro.url + "/ADMIN/q", headers=HTML, allow_redirects=False, timeout=10)
    assert other_case.status_code == 200, "routes stay case-sensitive unless they say otherwise"


def tls_raw_request(port, request):
    """Like conftest.raw_request, over TLS (HTTP/1.1 by ALPN)."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10)) as client:
        client.sendall(request.replace("\n", "\r\n").encode())
        data = b""
        try:
            while chunk := client.recv(65536):
                data += chunk
        except (socket.timeout, ssl.SSLError, ConnectionResetError):
            pass
    return int(data.split(b" ", 2)[1]), data


def test_an_absolute_target_naming_another_host_than_host_is_refused(routed):
    """`GET http://a/ HTTP/1.1` with `Host: b`: the route could follow one host and the app the
    other. 400 before anything is routed; the same host in both forms passes."""
    _, porteiro = routed
    port = int(porteiro.url.rsplit(":", 1)[1])
    status, body = tls_raw_request(
        port, f"GET https://elsewhere.example.org/public/x HTTP/1.1\nHost: 127.0.0.1:{port}\nConnection: close\n\n")
    assert status == 400 and b'"path"' not in body
    status, body = tls_raw_request(
        port, f"GET https://127.0.0.1:{port}/public/x HTTP/1.1\nHost: 127.0.0.1:{port}\nConnection: close\n\n")
    assert status == 200 and b'"path": "/public/x"' in body


def h2_status(port, headers):
    """One HTTP/2 request over TLS (ALPN h2), written frame by frame — no client library lets
    `host` and `:authority` disagree. Headers go out as HPACK literals; the answer's `:status` is
    read from the static table (200, 400, ...), which is how servers send those."""
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])

    def frame(kind, flags, stream, payload=b""):
        return struct.pack(">I", len(payload))[1:] + bytes([kind, flags]) + struct.pack(">I", stream) + payload

    def literal(name, value):
        assert len(name) < 127 and len(value) < 127
        return b"\x00" + bytes([len(name)]) + name.encode() + bytes([len(value)]) + value.encode()

    statuses = {8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}
    with context.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10)) as client:
        assert client.selected_alpn_protocol() == "h2"
        block = b"".join(literal(name, value) for name, value in headers)
        client.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0) + frame(1, 0x5, 1, block))
        buffer = b""
        while True:
            while len(buffer) < 9 or len(buffer) < 9 + int.from_bytes(buffer[:3], "big"):
                chunk = client.recv(65536)
                assert chunk, "the connection closed before an answer"
                buffer += chunk
            length, kind, flags = int.from_bytes(buffer[:3], "big"), buffer[3], buffer[4]
            stream = int.from_bytes(buffer[5:9], "big") & 0x7FFFFFFF
            payload, buffer = buffer[9:9 + length], buffer[9 + length:]
            if kind == 4 and not flags & 1:
                client.sendall(frame(4, 1, 0))  # acknowledge the server's SETTINGS
            elif kind == 1 and stream == 1:
                first = payload[(1 if flags & 0x8 else 0) + (5 if flags & 0x20 else 0)]
                assert first & 0x80, f"status not from the static table: {payload!r}"
                return statuses[first & 0x7F]
            elif kind == 3 and stream == 1:
                return f"RST_STREAM {int.from_bytes(payload, 'big')}"
            elif kind == 7:
                return f"GOAWAY {int.from_bytes(payload[4:8], 'big')}"


def test_an_http2_host_header_naming_another_host_than_authority_is_refused(routed):
    """RFC 9113 §8.3.1: a `host` that disagrees with `:authority` makes the request malformed.
    The HTTP/2-to-HTTP/1 conversion used to keep one and drop the other silently."""
    _, porteiro = routed
    port = int(porteiro.url.rsplit(":", 1)[1])
    base = [(":method", "GET"), (":scheme", "https"), (":authority", f"127.0.0.1:{port}"), (":path", "/public/x")]
    assert h2_status(port, base) == 200
    assert h2_status(port, base + [("host", f"127.0.0.1:{port}")]) == 200, "the same host twice is fine"
    assert h2_status(port, base + [("host", "elsewhere.example.org")]) == 400


def check_config(config):
    return subprocess.run([PORTEIRO_BIN, "check-config", "--config", str(config)], capture_output=True, text=True,
                          env=dict(os.environ, PORTEIRO_COOKIE_SECRET=COOKIE_SECRET))


def test_check_config_warns_when_a_protected_upstream_is_reachable_through_a_weaker_route(tmp_path, upstream):
    """A host-bound /admin/ with an allow rule and a public catch-all for any host, both to one
    upstream: `Host: anything-else` reaches the admin pages through the catch-all. The table
    cannot tell; check-config says so (exit 0: it is legal, and sometimes meant)."""
    absent = Provider("mock", "http://127.0.0.1:9", "porteiro-mock", "mock-secret", None)
    shadowed = write_config(tmp_path, absent, upstream, free_port(), routes=SHADOWED_ROUTES)
    result = check_config(shadowed)
    assert result.returncode == 0, result.stderr
    origin = upstream.replace("localhost", "127.0.0.1")
    expected = (f"{shadowed}: warning: routes[0]: its upstream {origin} is also reachable at the same paths "
                "through routes[1]")
    assert expected in result.stderr, result.stderr
    usual = check_config(write_config(tmp_path, absent, upstream, free_port()))
    assert usual.returncode == 0 and "its upstream" not in usual.stderr, usual.stderr


def test_serve_logs_a_shadowed_route_and_the_shape_it_warns_about_is_real(tmp_path, upstream):
    provider = start_mock_provider()
    porteiro = start_porteiro(tmp_path, provider, upstream, free_port(), routes=SHADOWED_ROUTES)
    try:
        log = porteiro.log_text()
        assert 'msg="configuration warning"' in log and "routes[0]: its upstream" in log
        port = int(porteiro.url.rsplit(":", 1)[1])
        portal = raw_request(port, "GET /admin/x HTTP/1.1\nHost: portal.example.org\nAccept: application/json\n"
                                   "Connection: close\n\n")
        assert portal.status == 401, "on its own host the admin route asks for a login"
        around = raw_request(port, "GET /admin/x HTTP/1.1\nHost: other.example.org\nConnection: close\n\n")
        assert around.status == 200 and b'"path": "/admin/x"' in around.body, "what the warning is about"
    finally:
        stop(porteiro.process, provider.process)
