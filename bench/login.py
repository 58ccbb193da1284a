"""Logs a gateway in through the real authorization-code flow — against oidc-provider-mock or
Porteiro's development provider (password = user name) — and prints the Cookie header a browser
would then send. Usage: login.py URL USER"""
import html
import re
import sys

import requests

url, user = sys.argv[1], sys.argv[2]
session = requests.Session()
page = session.get(url, headers={"Accept": "text/html"}, timeout=10)
assert "/oauth2/authorize" in page.url or "authorize" in page.url, f"expected the provider's login page, got {page.url}"
if 'name="username"' in page.text:
    form = {name: html.unescape(value) for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', page.text)}
    form.update(username=user, password=user)
    action = page.url.split("?", 1)[0]
    landed = session.post(action, data=form, timeout=10)
else:
    landed = session.post(page.url, data={"sub": user}, timeout=10)
assert landed.status_code == 200 and landed.url.rstrip("/") == url.rstrip("/"), f"login ended at {landed.url} ({landed.status_code})"
# Cookies ignore ports: a browser sends the provider's cookies on 127.0.0.1 along too.
print("; ".join(f"{c.name}={c.value}" for c in session.cookies))
