"""A small HTTP(S) server in a thread, answering from a handler function and recording every request.

Used where the real server cannot run here (Dicoogle) and to test the REST transport's TLS, authentication
and retries against real sockets.
"""

from __future__ import annotations

import contextlib
import json
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


@dataclass
class Seen:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    payload: object = None
    body: bytes | None = None
    delay: float = 0.0


@dataclass
class FakeServer:
    base_url: str
    seen: list[Seen] = field(default_factory=list)


@contextlib.contextmanager
def fake_server(
    handler: Callable[[Seen], Answer], cert: tuple[Path, Path] | None = None, host: str = "localhost"
) -> Iterator[FakeServer]:
    """Serve on a free loopback port (HTTPS when `cert` = (certificate, key) is given) until the block ends."""
    record: list[Seen] = []
    stop = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _serve(self):
            parts = urllib.parse.urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            seen = Seen(
                self.command,
                parts.path,
                urllib.parse.parse_qsl(parts.query, keep_blank_values=True),
                dict(self.headers.items()),
                self.rfile.read(length) if length else b"",
            )
            record.append(seen)
            answer = handler(seen)
            if answer.delay:
                stop.wait(answer.delay)
            body = answer.body if answer.body is not None else json.dumps(answer.payload).encode()
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            with contextlib.suppress(OSError):
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = _serve  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    scheme = "http"
    if cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert[0]), str(cert[1]))
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield FakeServer(f"{scheme}://{host}:{server.server_address[1]}", record)
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
