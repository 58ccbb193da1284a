"""Opens N keep-alive connections to a gateway, sends one authenticated request on each, keeps them
all open and idle, prints how many answered 200, then waits for stdin to close them."""
import socket
import sys

port, count, cookie = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
request = f"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n".encode()
sockets, ok = [], 0
for _ in range(count):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(request)
    sockets.append(s)
for s in sockets:
    answer = b""
    while b"\r\n\r\n" not in answer:
        answer += s.recv(65536)
    ok += answer.startswith(b"HTTP/1.1 200")
print(ok, flush=True)
sys.stdin.read()
