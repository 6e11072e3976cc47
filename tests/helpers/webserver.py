"""A real HTTP(S) server for tests: fixed pages, a slow page and a failing page, on a free loopback port."""

from __future__ import annotations

import ssl
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

BODY_BYTES = 50_000


class _Pages(BaseHTTPRequestHandler):
    """/ → 200 with BODY_BYTES; /slow → first byte after 0.2 s; /broken → 500."""

    def do_GET(self) -> None:  # noqa: N802 - the standard library's name
        if self.path == "/slow":
            time.sleep(0.2)
        status = 500 if self.path == "/broken" else 200
        body = b"x" * BODY_BYTES
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class _QuietServer(ThreadingHTTPServer):
    """Clients that hang up mid-answer (a probe's timeout, an agent killed) are normal here, not tracebacks."""

    def handle_error(self, request, client_address) -> None:
        pass


@contextmanager
def web_server(cert: Path | None = None, key: Path | None = None, host: str = "127.0.0.1"):
    """Serve the pages (over TLS when `cert` is given) in a thread; yields the port."""
    server = _QuietServer((host, 0), _Pages)
    if cert is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
