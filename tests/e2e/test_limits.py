"""Resource limits under load: many idle or trickling connections, many abandoned login attempts.
Memory and file descriptors stay bounded, the limits answer clearly, other clients are served."""
import resource
import socket
import time

import requests
from conftest import free_port, make_certificate, start_dev_provider, start_porteiro, stop, tls_server_extra
from test_provider_faults import open_fds

HTML = {"Accept": "text/html"}
IDLE_CLIENTS = 1000


def rss_kib(porteiro):
    status = open(f"/proc/{porteiro.process.pid}/status").read()
    return int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])


def test_many_idle_and_trickling_connections_are_bounded_and_closed(tmp_path, upstream):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard >= 3 * IDLE_CLIENTS, f"open-file limit {hard} too low: run `ulimit -n {4 * IDLE_CLIENTS}` first"
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 3 * IDLE_CLIENTS), hard))
    port = free_port()
    provider = start_dev_provider(port)
    porteiro = start_porteiro(tmp_path, provider, upstream, port, server_extra="  idle_timeout: 3s\n")
    clients = []
    try:
        requests.get(porteiro.url + "/public/warm", timeout=5)
        fds, rss = open_fds(porteiro), rss_kib(porteiro)
        for index in range(IDLE_CLIENTS):
            client = socket.create_connection(("127.0.0.1", port), timeout=10)
            if index % 2:  # slowloris: a head that never ends
                client.sendall(b"GET /public/slow HTTP/1.1\r\nHost: x\r\nX-A: ")
            clients.append(client)
        deadline = time.time() + 10  # accepted one by one: a loaded machine takes longer
        while open_fds(porteiro) < fds + IDLE_CLIENTS - 10 and time.time() < deadline:
            time.sleep(0.1)
        assert open_fds(porteiro) >= fds + IDLE_CLIENTS - 10, "every client is held"
        grown_mib = (rss_kib(porteiro) - rss) / 1024
        assert grown_mib < 64, f"{IDLE_CLIENTS} idle clients cost {grown_mib:.0f} MiB"
        served = requests.get(porteiro.url + "/public/meanwhile", timeout=5)
        assert served.status_code == 200 and served.elapsed.total_seconds() < 1, "other clients are unaffected"
        time.sleep(4)  # past idle_timeout
        for client in clients:
            client.settimeout(5)
            assert client.recv(4096) == b"", "closed by the gateway"
        assert open_fds(porteiro) <= fds + 2, "all their descriptors are released"
        assert requests.get(porteiro.url + "/public/after", timeout=5).status_code == 200
    finally:
        for client in clients:
            client.close()
        porteiro.process.terminate()
        porteiro.process.wait(timeout=10)
        provider.process.terminate()


def test_many_abandoned_login_attempts_keep_few_state_cookies(tmp_path, upstream):
    port = free_port()
    provider = start_dev_provider(port)
    porteiro = start_porteiro(tmp_path, provider, upstream, port)
    try:
        browser = requests.Session()
        for attempt in range(50):
            started = browser.get(f"{porteiro.url}/app/{attempt}", headers=HTML, allow_redirects=False, timeout=5)
            assert started.status_code == 302
            states = [c for c in browser.cookies if c.name.startswith("_porteiro_state_")]
            assert len(states) <= 4, f"attempt {attempt}: {len(states)} state cookies kept"
        page = browser.get(porteiro.url + "/app/last", headers=HTML, timeout=5)
        landed = provider.log_in(browser, page, "maria")
        assert landed.status_code == 200 and landed.url == porteiro.url + "/app/last"

        forged = "; ".join(f"_porteiro_state_{n:012d}=garbage" for n in range(300))
        flood = requests.get(porteiro.url + "/app/flood", headers={**HTML, "Cookie": forged},
                             allow_redirects=False, timeout=5)
        assert flood.status_code == 302
        expired = [v for k, v in flood.raw.headers.items() if k.lower() == "set-cookie" and "Max-Age=0" in v]
        assert len(expired) == 16, "forged state cookies are expired, 16 per answer (LoginState.maxExpiredPerResponse)"
        too_many = "; ".join(f"_porteiro_state_{n:012d}=" + "x" * 200 for n in range(300))
        refused = requests.get(porteiro.url + "/app/x", headers={"Cookie": too_many}, timeout=5)
        assert refused.status_code == 431, "past server.max_header_bytes"
        assert requests.get(porteiro.url + "/public/ok", timeout=5).status_code == 200
    finally:
        porteiro.process.terminate()
        porteiro.process.wait(timeout=10)
        provider.process.terminate()


def metrics_value(porteiro, name):
    text = requests.get(porteiro.url + "/metrics", timeout=5).text
    return float(next(line.split()[-1] for line in text.splitlines() if line.startswith(name + " ")))


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime, in clock ticks (1/100 s)


def test_running_out_of_descriptors_backs_off_instead_of_spinning(tmp_path, upstream):
    """With its descriptor limit reached, `accept` failed at once and SwiftNIO retried it at once,
    burning a whole core (the red team's finding). Now `server.max_connections` (by default half
    the descriptor limit, less a reserve) closes the connections past it, so accepting never runs
    out of descriptors; the gateway serves again once connections close."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    port = free_port()
    provider = start_dev_provider(port)
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))  # inherited by the gateway started next
    try:
        porteiro = start_porteiro(tmp_path, provider, upstream, port, server_extra="  idle_timeout: 20s\n")
    except Exception:
        stop(provider.process)
        raise
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    clients = []
    try:
        for _ in range(100):
            clients.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        time.sleep(1)
        before = cpu_ticks(porteiro.process.pid)
        time.sleep(3)
        used = cpu_ticks(porteiro.process.pid) - before
        assert used < 60, f"{used / 100:.2f} s of CPU in 3 s with more clients than descriptors"
        for client in clients:
            client.close()
        clients = []
        deadline = time.time() + 10
        while True:
            try:
                if requests.get(porteiro.url + "/ping", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.time() < deadline, "serving again once the connections closed"
            time.sleep(0.2)
        assert metrics_value(porteiro, "porteiro_connections_refused_total") > 0
    finally:
        for client in clients:
            client.close()
        stop(porteiro.process, provider.process)


def test_a_tls_handshake_that_never_ends_is_closed_at_the_idle_timeout(tmp_path, upstream):
    """Before the handshake no HTTP handler times a connection out: sockets that sent nothing, or
    half a ClientHello, stayed open for good and a few held every slot of max_connections (the
    second red team's finding)."""
    certificate, key = make_certificate(tmp_path)
    port = free_port()
    provider = start_dev_provider(port)
    try:
        porteiro = start_porteiro(tmp_path, provider, upstream, port, public_url=f"https://127.0.0.1:{port}",
                                  server_extra=tls_server_extra(certificate, key) + "  idle_timeout: 2s\n  max_connections: 4\n")
    except Exception:
        stop(provider.process)
        raise
    sockets = []
    try:
        for first_bytes in [b"", bytes.fromhex("16030102000100010003 03".replace(" ", ""))] * 2:
            client = socket.create_connection(("127.0.0.1", port), timeout=10)
            client.sendall(first_bytes)
            sockets.append(client)
        time.sleep(3.5)
        for client in sockets:
            assert client.recv(1024) == b"", "closed by the gateway at the idle timeout"
        assert requests.get(porteiro.url + "/ping", verify=False, timeout=5).status_code == 200, "the slots are free again"
    finally:
        for client in sockets:
            client.close()
        stop(porteiro.process, provider.process)
