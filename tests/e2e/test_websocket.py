"""Protocol switches: only a WebSocket handshake opens a tunnel, and only once the app's `101`
answers that handshake. Once a tunnel is open Porteiro sees no more requests, so anything else
that says `Upgrade` (h2c, foo/1) is proxied as a plain request, and a `101` that answers no
handshake is a 502 with the upstream connection dropped. The apps are raw-socket scripts
(conftest.ScriptedUpstream) that can answer what no HTTP library would."""
import base64
import hashlib
import socket
import time

import pytest
from conftest import ScriptedUpstream, free_port, raw_request, start_mock_provider, start_porteiro, stop

KEY = base64.b64encode(b"0123456789abcdef").decode()
GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_for(key):
    return base64.b64encode(hashlib.sha1((key + GUID).encode()).digest()).decode()


def header_of(head, name):
    return next((line.split(":", 1)[1].strip() for line in head.split("\r\n")[1:]
                 if line.lower().startswith(name.lower() + ":")), None)


def switch_to_h2c(head, connection):
    """Says 101 to anything, then speaks raw bytes: what a smuggling app (or attacker) would do."""
    connection.sendall(b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                       b"GET /admin/secret HTTP/1.1\r\nHost: x\r\n\r\n")


def websocket_echo(head, connection, accept=None):
    """A WebSocket server in miniature: the right accept value, then every byte echoed back."""
    accept = accept or accept_for(header_of(head, "Sec-WebSocket-Key") or "")
    connection.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                        f"Sec-WebSocket-Accept: {accept}\r\n\r\n").encode())
    while data := connection.recv(65536):
        connection.sendall(data)


class Upgrades:
    def __init__(self, porteiro, h2c, websocket, wrong_accept):
        self.porteiro, self.h2c, self.websocket, self.wrong_accept = porteiro, h2c, websocket, wrong_accept
        self.port = int(porteiro.url.rsplit(":", 1)[1])


@pytest.fixture(scope="module")
def upgrades(tmp_path_factory, upstream):
    h2c = ScriptedUpstream(switch_to_h2c)
    websocket = ScriptedUpstream(websocket_echo)
    wrong_accept = ScriptedUpstream(lambda head, connection: websocket_echo(head, connection, accept=accept_for("x")))
    routes = f"""\
  - path: /h2c/
    upstream: "{h2c.url}"
    auth: none
  - path: /ws/
    upstream: "{websocket.url}"
    auth: none
  - path: /ws-wrong-accept/
    upstream: "{wrong_accept.url}"
    auth: none
  - path: /ws-short/
    upstream: "{websocket.url}"
    auth: none
    timeout: 1s
  - path: /
    upstream: "{{upstream}}"
    auth: none
"""
    provider = start_mock_provider()
    porteiro = start_porteiro(tmp_path_factory.mktemp("upgrades"), provider, upstream, free_port(), routes=routes)
    yield Upgrades(porteiro, h2c, websocket, wrong_accept)
    stop(porteiro.process, provider.process)
    for scripted in (h2c, websocket, wrong_accept):
        scripted.close()


H2C = ("Connection: Upgrade, HTTP2-Settings\nUpgrade: h2c\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\n")


def test_an_upstream_101_to_an_h2c_upgrade_is_a_502_and_no_tunnel(upgrades):
    answer = raw_request(upgrades.port, f"GET /h2c/x HTTP/1.1\nHost: 127.0.0.1\n{H2C}\n", timeout=3)
    assert answer.status == 502, answer.status_line
    assert b"/admin/secret" not in answer.body, "no raw bytes from the app after its 101"
    head = upgrades.h2c.heads[-1]
    assert header_of(head, "Upgrade") is None and "upgrade" not in (header_of(head, "Connection") or "").lower(), \
        "the app was asked a plain request"
    assert "101 Switching Protocols that answers no WebSocket handshake" in upgrades.porteiro.log_text()
    after = raw_request(upgrades.port, "GET /public/after HTTP/1.1\nHost: 127.0.0.1\nConnection: close\n\n")
    assert after.status == 200, "the gateway carries on"


@pytest.mark.parametrize("upgrade", [
    "Connection: Upgrade\nUpgrade: foo/1\n",
    H2C,
    "Connection: Upgrade\nUpgrade: websocket\nSec-WebSocket-Version: 13\n",  # no key
    f"Connection: Upgrade\nUpgrade: websocket\nSec-WebSocket-Version: 13\nSec-WebSocket-Key: c2hvcnQ=\n",  # 5 bytes
    f"Connection: Upgrade\nUpgrade: websocket\nSec-WebSocket-Version: 8\nSec-WebSocket-Key: {KEY}\n",
], ids=["foo", "h2c", "websocket-without-key", "websocket-short-key", "websocket-version-8"])
def test_other_upgrades_reach_the_app_as_plain_requests(upgrades, upgrade):
    answer = raw_request(upgrades.port, f"GET /public/x HTTP/1.1\nHost: 127.0.0.1\n{upgrade}\n", timeout=3)
    assert answer.status == 200, answer.status_line
    assert b'"upgrade"' not in answer.body and b'"connection": "Upgrade' not in answer.body, answer.body
    assert b'"http2-settings"' not in answer.body or "h2c" not in upgrade


def open_tunnel(port, path):
    """A WebSocket handshake through the gateway; the socket and the `101` head."""
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {KEY}\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += client.recv(4096)
    assert head.startswith(b"HTTP/1.1 101"), head
    return client, head


def test_a_websocket_handshake_is_tunnelled_once_the_app_answers_it(upgrades):
    client, head = open_tunnel(upgrades.port, "/ws/chat")
    with client:
        assert f"sec-websocket-accept: {accept_for(KEY)}".lower().encode() in head.lower()
        client.sendall(b"\x81\x05hello")  # bytes of a frame: the tunnel passes them as they are
        echoed = b""
        while len(echoed) < 7:
            echoed += client.recv(4096)
        assert echoed == b"\x81\x05hello"




def test_a_silent_tunnel_closes_after_the_routes_timeout_and_traffic_keeps_it_open(upgrades):
    """The third red team held a tunnel open, idle, long past every timeout. Now a silence of the
    route's `timeout` (1 s here) in both directions closes it; frames keep it open."""
    busy, _ = open_tunnel(upgrades.port, "/ws-short/chat")
    with busy:
        for _ in range(5):  # 2.5 s of traffic, never 1 s silent
            time.sleep(0.5)
            busy.sendall(b"\x81\x02hi")
            echoed = b""
            while len(echoed) < 4:
                chunk = busy.recv(4096)
                assert chunk, "closed while in use"
                echoed += chunk
    silent, _ = open_tunnel(upgrades.port, "/ws-short/chat")
    with silent:
        silent.settimeout(5)
        started = time.time()
        assert silent.recv(4096) == b"", "closed by the gateway"
        assert time.time() - started < 4, "at about the route's timeout"


def test_a_101_whose_accept_does_not_match_the_key_is_a_502(upgrades):
    request = (f"GET /ws-wrong-accept/chat HTTP/1.1\nHost: 127.0.0.1\nConnection: Upgrade\nUpgrade: websocket\n"
               f"Sec-WebSocket-Version: 13\nSec-WebSocket-Key: {KEY}\n\n")
    answer = raw_request(upgrades.port, request, timeout=3)
    assert answer.status == 502, answer.status_line
