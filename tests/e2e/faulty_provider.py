"""The development provider behind a proxy that misbehaves on demand, one path at a time: a hang
(no answer for a while, then 503, the request never reaching the provider), 5xx, garbage bodies,
a member dropped from a JSON answer or set to a value of the test's choosing (an `expires_in` of
1e30), an access token padded to a size no cookie holds, or a key
of the test's own added to the JWKS (so a test can sign what only the IdP should: back-channel
logout tokens). Its issuer is the proxy's URL,
so Porteiro sees every fault exactly as it would see a broken IdP."""
import http.server
import json
import threading
import time

import requests

from conftest import free_port, start_dev_provider

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


class FaultyProvider:
    def __init__(self, gateway_port, callback_path=None):
        self.gateway_port, self.callback_path = gateway_port, callback_path
        self.backend_port = free_port()
        self.faults = {}
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.provider = start_dev_provider(gateway_port, self.backend_port, public_url=self.issuer, callback_path=callback_path)

    def rotate_keys(self):
        """Restarts the provider behind the proxy: same issuer, a new signing key."""
        self.provider.process.terminate()
        self.provider.process.wait(timeout=10)
        self.provider = start_dev_provider(
            self.gateway_port, self.backend_port, public_url=self.issuer, callback_path=self.callback_path)

    def stop(self):
        self.provider.process.terminate()
        self.provider.process.wait(timeout=10)
        self.server.shutdown()

    def _handler(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                path = self.path.split("?", 1)[0]
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None  # also when faking: keep-alive
                fault = proxy.faults.get(path)
                if fault and fault[0] == "hang":
                    time.sleep(fault[1])
                    return self.answer(503, [("Content-Type", "text/plain")], b"too late")
                if fault and fault[0] == "delay":  # slow but fine: the answer comes, late
                    time.sleep(fault[1])
                if fault and fault[0] == "status":
                    return self.answer(fault[1], [("Content-Type", "text/html")], b"<h1>Internal Server Error</h1>")
                if fault and fault[0] == "garbage":
                    return self.answer(200, [("Content-Type", "application/json")], b"\x00{not json at all")
                upstream = requests.request(
                    self.command, f"http://127.0.0.1:{proxy.backend_port}{self.path}",
                    headers={k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP | {"host"}},
                    data=body, allow_redirects=False, timeout=30)
                body = upstream.content
                if fault and fault[0] == "drop":
                    answer = json.loads(body)
                    answer.pop(fault[1], None)
                    body = json.dumps(answer).encode()
                if fault and fault[0] == "set":
                    answer = json.loads(body)
                    if "access_token" in answer or fault[1] in answer:  # token answers, not error answers
                        answer[fault[1]] = fault[2]
                    body = json.dumps(answer).encode()
                if fault and fault[0] == "pad_access_token":
                    answer = json.loads(body)
                    if "access_token" in answer:
                        answer["access_token"] += "." + "p" * fault[1]
                    body = json.dumps(answer).encode()
                if fault and fault[0] == "extra_key":
                    answer = json.loads(body)
                    answer["keys"].append(fault[1])
                    body = json.dumps(answer).encode()
                headers = [(k, v) for k, v in upstream.raw.headers.items() if k.lower() not in HOP_BY_HOP]
                self.answer(upstream.status_code, headers, body)

            do_POST = do_GET

            def answer(self, status, headers, body):
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler
