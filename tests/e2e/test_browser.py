"""What a person sees, in a real browser (Debian's Chromium, driven by Selenium through Debian's
chromedriver), against two providers: the development provider of `porteiro demo` and the
independent django-oauth-toolkit provider. Each step leaves a screenshot under
test-output/browser/ (named provider-test-step.png) for a person to look at.
"""
import base64
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from conftest import (PORTEIRO_BIN, ROOT, TOKEN_SECONDS, free_port, make_certificate, start_django_provider,
                      wait_until_up)

SCREENSHOTS = ROOT / "test-output" / "browser"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


@dataclass
class Demo:
    kind: str
    url: str
    provider_origin: str
    process: subprocess.Popen
    log: Path

    def password(self, user):
        return user if self.kind == "dev" else f"{user}-pw"

    def metrics(self):
        text = requests.get(self.url + "/metrics", timeout=10, verify=False).text
        return {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line and line[0] != "#"}


def start_demo(kind, tmp, tls=None):
    """`porteiro demo` with its development provider, or in front of the Django provider."""
    if not Path(PORTEIRO_BIN).exists():
        pytest.fail(f"{PORTEIRO_BIN} is missing: run `swift build` first (scripts/test.sh does)")
    port, provider_port = free_port(), free_port()
    args = [PORTEIRO_BIN, "demo", "--port", str(port)]
    provider = None
    if kind == "dev":
        args += ["--provider-port", str(provider_port), "--token-lifetime", f"{TOKEN_SECONDS}s"]
        origin = f"http://127.0.0.1:{provider_port}"
    else:
        provider = start_django_provider(tmp, port, scheme="https" if tls else "http")
        args += ["--issuer", provider.issuer, "--client-id", provider.client_id]
        origin = provider.issuer.rsplit("/o", 1)[0]
    if tls:
        args += ["--tls-certificate", tls[0], "--tls-key", tls[1]]
    log = tmp / f"demo-{kind}-{port}.log"
    process = subprocess.Popen(args, stdout=log.open("w"), stderr=subprocess.STDOUT)
    url = f"{'https' if tls else 'http'}://127.0.0.1:{port}"
    wait_until_up(url + "/ready", process)
    return Demo(kind, url, origin, process, log), provider


def stop(demo, provider):
    for process in [demo.process] + ([provider.process] if provider else []):
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module", params=["dev", "django"])
def demo(request, tmp_path_factory):
    demo, provider = start_demo(request.param, tmp_path_factory.mktemp(request.param))
    yield demo
    stop(demo, provider)


@pytest.fixture
def open_browser():
    """Opens Chromium windows (headless) with a given Accept-Language; closes them all after the test."""
    for tool, package in [(CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")]:
        if not shutil.which(tool):
            pytest.fail(f"{tool} is missing: apt-get install {package}")
    drivers = []

    def make(language="en-US"):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,900",
                         "--ignore-certificate-errors", f"--lang={language}"]:
            options.add_argument(argument)
        options.add_experimental_option("prefs", {"intl.accept_languages": language})
        options.accept_insecure_certs = True
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(20)
        drivers.append(driver)
        return driver

    yield make
    for driver in drivers:
        driver.quit()


def shot(driver, demo, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{demo.kind}-{name}.png"
    driver.save_screenshot(str(path))
    return path


def wait_for(driver, condition, timeout=15):
    return WebDriverWait(driver, timeout).until(condition)


def on_login_page(driver, demo):
    """Waits for the provider's login form; returns the user-name field."""
    wait_for(driver, lambda d: d.current_url.startswith(demo.provider_origin))
    field = "username" if demo.kind == "dev" else "id_username"
    return wait_for(driver, expected_conditions.presence_of_element_located((By.ID, field)))


def submit_login(driver, demo, user):
    """Types the user's name and password into the provider's form and sends it."""
    on_login_page(driver, demo).send_keys(user)
    password = driver.find_element(By.ID, "password" if demo.kind == "dev" else "id_password")
    password.send_keys(demo.password(user))
    password.submit()


def signed_in_page(driver, user):
    wait_for(driver, expected_conditions.text_to_be_present_in_element((By.ID, "user"), user))
    return driver.find_element(By.TAG_NAME, "body").text


def log_in(driver, demo, user, path):
    driver.get(demo.url + path)
    submit_login(driver, demo, user)
    signed_in_page(driver, user)
    assert driver.current_url == demo.url + path


def test_deep_link_with_query_comes_back_signed_in(demo, open_browser):
    driver = open_browser()
    deep_link = "/app/reports/2026?year=2026&filter=a%20b"
    driver.get(demo.url + deep_link)
    on_login_page(driver, demo)
    shot(driver, demo, "deep-link-1-provider-login")
    submit_login(driver, demo, "maria")
    text = signed_in_page(driver, "maria")
    shot(driver, demo, "deep-link-2-back-at-the-app")
    assert driver.current_url == demo.url + deep_link, "back at the deep link, query string included"
    assert "GET " + deep_link in text
    assert "X-Forwarded-Groups\nservidores" in text or "X-Forwarded-Groups servidores" in text
    claims = driver.find_element(By.ID, "claims").text
    if demo.kind == "dev":
        assert '"preferred_username" : "maria"' in claims
    else:
        assert "opaque access token" in claims, "django-oauth-toolkit's access tokens are not JWTs"


def test_two_tabs_logging_in_at_once_both_succeed(demo, open_browser):
    driver = open_browser()
    driver.get(demo.url + "/app/one")
    on_login_page(driver, demo)
    first_tab = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(demo.url + "/app/two")
    submit_login(driver, demo, "maria")
    signed_in_page(driver, "maria")
    assert driver.current_url == demo.url + "/app/two"
    shot(driver, demo, "two-tabs-1-second-tab")
    driver.switch_to.window(first_tab)
    if demo.kind == "dev":
        submit_login(driver, demo, "maria")
    else:
        # Django renews its CSRF token at login, so the first tab's form is stale; the person
        # retries, and the provider's own session answers the first tab's request at once.
        driver.get(demo.provider_origin + driver.find_element(By.NAME, "next").get_attribute("value"))
    signed_in_page(driver, "maria")
    shot(driver, demo, "two-tabs-2-first-tab")
    assert driver.current_url == demo.url + "/app/one", "the first tab's own login state was kept"


@pytest.mark.parametrize("language, expected", [
    ("en-US", "You are signed in as joao, but this page is not open to you."),
    ("pt-BR", "Você entrou como joao, mas esta página não está liberada para você."),
])
def test_user_outside_the_group_sees_the_403_page_in_the_browsers_language(demo, open_browser, language, expected):
    driver = open_browser(language)
    log_in(driver, demo, "joao", "/app/")
    driver.get(demo.url + "/servidores/")
    wait_for(driver, expected_conditions.text_to_be_present_in_element((By.TAG_NAME, "body"), expected))
    shot(driver, demo, f"forbidden-{language}")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("lang").lower().startswith(language[:2])


def test_page_keeps_working_after_the_token_expires_without_the_provider(demo, open_browser):
    driver = open_browser()
    log_in(driver, demo, "maria", "/app/first")
    token_before = driver.find_element(By.ID, "token").text
    started, refreshed = (demo.metrics().get(name, 0) for name in
                          ["porteiro_logins_started_total", "porteiro_token_refreshes_total"])
    time.sleep(2 * TOKEN_SECONDS)
    driver.get(demo.url + "/app/later")
    signed_in_page(driver, "maria")
    shot(driver, demo, "after-token-expiry")
    assert driver.current_url == demo.url + "/app/later"
    assert driver.find_element(By.ID, "token").text != token_before, "a fresh access token reached the app"
    if demo.kind == "dev":
        assert json.loads(driver.find_element(By.ID, "claims").text)["exp"] > time.time()
    after = demo.metrics()
    assert after["porteiro_logins_started_total"] == started, "no trip to the provider's login"
    assert after["porteiro_token_refreshes_total"] > refreshed, "a refresh in the background instead"


def test_sign_out_ends_the_session_here_and_at_the_provider(demo, open_browser):
    driver = open_browser()
    log_in(driver, demo, "maria", "/app/")
    driver.find_element(By.ID, "sign-out").click()
    wait_for(driver, lambda d: d.current_url == demo.url + "/")
    shot(driver, demo, "sign-out-1-back-home")
    assert "Anonymous visitor." in driver.find_element(By.TAG_NAME, "body").text
    driver.get(demo.url + "/app/")
    on_login_page(driver, demo)
    shot(driver, demo, "sign-out-2-asked-to-log-in-again")


def session_cookie_checks(driver, demo):
    cookies = [c for c in driver.get_cookies() if c["name"].removeprefix("__Host-").startswith("_porteiro")]
    assert cookies, driver.get_cookies()
    for cookie in cookies:
        assert cookie["httpOnly"] is True and cookie["sameSite"] == "Lax", cookie
        assert cookie["secure"] is demo.url.startswith("https://"), cookie
        value = cookie["value"]
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        for claim in [b"maria", b"servidores", b"example.org"]:
            assert claim not in raw and claim.decode() not in value, "the cookie reveals no claim"
    return cookies


def test_session_cookies_are_http_only_same_site_and_opaque(demo, open_browser):
    driver = open_browser()
    log_in(driver, demo, "maria", "/app/")
    session_cookie_checks(driver, demo)


@pytest.mark.parametrize("kind", ["dev", "django"])
def test_session_cookies_are_secure_under_tls(kind, open_browser, tmp_path):
    certificate, key = make_certificate(tmp_path)
    demo, provider = start_demo(kind, tmp_path, tls=(str(certificate), str(key)))
    try:
        driver = open_browser()
        log_in(driver, demo, "maria", "/app/tls")
        shot(driver, demo, "tls-signed-in")
        cookies = session_cookie_checks(driver, demo)
        assert all(c["secure"] for c in cookies)
        # https and no cookie_domain: the __Host- prefix by default, so neither a sibling subdomain
        # nor a plain-http page can plant a session cookie (cookie tossing).
        session = [c for c in cookies if not c["name"].startswith("__Host-_porteiro_state")]
        assert session and all(c["name"].startswith("__Host-_porteiro") for c in session), session
        assert all(c["path"] == "/" and c.get("domain", "127.0.0.1") == "127.0.0.1" for c in session), session
    finally:
        stop(demo, provider)
