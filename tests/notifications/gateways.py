"""Real servers standing in for the outside world: an HTTP SMS/WeChat gateway and an SMTP relay,
each on a free loopback port in a background thread, answering as the test scripts them."""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class GatewayScript:
    """Statuses to answer in order (then 200 for ever), and every request body received."""

    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, object]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    on_request: Callable[[], None] | None = None  # e.g. move the test's clock: a slow gateway


@contextmanager
def http_gateway(script: GatewayScript) -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if script.on_request is not None:
                script.on_request()
            with script.lock:
                status = script.statuses.pop(0) if script.statuses else 200
                if status == 200:
                    script.received.append({**body, "authorization": self.headers.get("Authorization")})
                number = len(script.received)
            answer = json.dumps({"id": f"gw-{number}"} if status == 200 else {"error": "x"}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_args: object) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/send"
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Mailbox:
    """Mail the SMTP relay accepted, and recipients it refuses (550)."""

    refuse: set[str] = field(default_factory=set)
    messages: list[tuple[str, list[str], str]] = field(default_factory=list)


@contextmanager
def smtp_relay(mailbox: Mailbox) -> Iterator[int]:
    """Just enough SMTP (RFC 5321: EHLO, MAIL, RCPT, DATA, QUIT) to accept or refuse mail."""

    class Handler(socketserver.StreamRequestHandler):
        def reply(self, line: str) -> None:
            self.wfile.write((line + "\r\n").encode())

        def handle(self) -> None:
            self.reply("220 test relay")
            sender, recipients = "", []
            while True:
                line = self.rfile.readline().decode().rstrip("\r\n")
                if not line:
                    return
                verb = line.split(" ", 1)[0].upper()
                if verb in ("EHLO", "HELO"):
                    self.reply("250 test relay")
                elif verb == "MAIL":
                    sender, recipients = line.split(":", 1)[1].strip(" <>"), []
                    self.reply("250 OK")
                elif verb == "RCPT":
                    address = line.split(":", 1)[1].strip(" <>")
                    if address in mailbox.refuse:
                        self.reply("550 no such user")
                    else:
                        recipients.append(address)
                        self.reply("250 OK")
                elif verb == "DATA":
                    self.reply("354 end with .")
                    data = []
                    while (chunk := self.rfile.readline().decode()) not in (".\r\n", ""):
                        data.append(chunk)
                    mailbox.messages.append((sender, recipients, "".join(data)))
                    self.reply("250 queued")
                elif verb == "QUIT":
                    self.reply("221 bye")
                    return
                else:
                    self.reply("250 OK")

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
