"""The IdP misbehaving: not there yet at start-up, gone while users are signed in."""
import subprocess
import time

import requests
from conftest import PORTEIRO_BIN, Provider, free_port, start_mock_provider, wait_until_up, write_config

HTML = {"Accept": "text/html"}


def test_login_waits_for_the_provider_without_blocking_start_up(tmp_path, upstream):
    provider_port, port = free_port(), free_port()
    provider = Provider("mock", f"http://127.0.0.1:{provider_port}", "porteiro-mock", "mock-secret", None)
    config = write_config(tmp_path, provider, upstream, port)
    process = subprocess.Popen([PORTEIRO_BIN, "serve", "--config", str(config)],
                               env={"PORTEIRO_COOKIE_SECRET": "LL6RmrB6UvlvV2TTpm1B3CMt0E3OJH6y7OqdVldQnug="},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until_up(url + "/ping", process)
        assert requests.get(url + "/ready", timeout=5).status_code == 503
        page = requests.get(url + "/app", headers={**HTML, "Accept-Language": "pt-BR"}, allow_redirects=False, timeout=5)
        assert page.status_code == 503
        assert "provedor de identidade" in page.text and page.headers["Retry-After"]
        assert requests.get(url + "/public/ok", timeout=5).status_code == 200, "public routes work meanwhile"
        late = start_mock_provider(port=provider_port)
        try:
            deadline = time.time() + 20
            while requests.get(url + "/ready", timeout=5).status_code != 200:
                assert time.time() < deadline, "not ready after the provider came up"
                time.sleep(0.2)
            login = requests.get(url + "/app", headers=HTML, allow_redirects=False, timeout=5)
            assert login.status_code == 302 and login.headers["Location"].startswith(late.issuer)
        finally:
            late.process.terminate()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_sessions_keep_working_while_the_provider_is_down(tmp_path, upstream):
    from conftest import start_porteiro
    from test_login import log_in

    provider = start_mock_provider()
    porteiro = start_porteiro(tmp_path, provider, upstream, free_port())
    try:
        session, _ = log_in(provider, porteiro)
        provider.process.terminate()
        provider.process.wait(timeout=10)
        assert session.get(porteiro.url + "/still", headers=HTML, allow_redirects=False, timeout=10).status_code == 200
        time.sleep(3)  # past the refresh margin: the refresh cannot reach the IdP
        after = session.get(porteiro.url + "/still", headers=HTML, allow_redirects=False, timeout=20)
        assert after.status_code == 200, "an unreachable IdP does not log anyone out"
    finally:
        porteiro.process.terminate()
        porteiro.process.wait(timeout=10)
