"""A lean HTTP/1.1 client for one synthetic student's session: one keep-alive connection, C-parsed answers.

Runs only inside Locust processes (gevent sockets). A session opens its own connection, as a
browser or app session does, and keeps it for the session's requests; answers are parsed by
httptools (the parser uvicorn uses). Bodies are counted, not kept. Streaming answers (chunked, the
AI tutor) report when their first body byte came.
"""

from __future__ import annotations

import time

import httptools
from gevent import socket

IDEMPOTENT = frozenset({"GET", "PUT"})
READ_BUFFER = bytearray(256 * 1024)  # one per process: a read is parsed before the greenlet can yield
_VIEW = memoryview(READ_BUFFER)
_BODIES: dict[int, bytes] = {}


class RequestFailed(Exception):
    """A request that got no complete answer; the message is the outcome label (timeout, connect_refused ...)."""


class _Answer:
    __slots__ = ("complete", "body_bytes", "first_byte_at", "parser", "status", "keep_alive")

    def __init__(self) -> None:
        self.complete, self.body_bytes, self.first_byte_at = False, 0, 0.0
        self.parser, self.status, self.keep_alive = None, 0, False

    def on_headers_complete(self) -> None:
        # The parser forgets both once the message is complete: read them while it still knows.
        self.status, self.keep_alive = self.parser.get_status_code(), self.parser.should_keep_alive()

    def on_body(self, data: bytes) -> None:
        if not self.body_bytes:
            self.first_byte_at = time.perf_counter()
        self.body_bytes += len(data)

    def on_message_complete(self) -> None:
        self.complete = True


def body_of(size: int) -> bytes:
    """A request body of `size` bytes (synthetic: JSON-safe filler), shared between requests."""
    if size not in _BODIES:
        _BODIES[size] = b"0" * size
    return _BODIES[size]


class Connection:
    """One keep-alive connection to `address`; reconnects when the server closed it between requests."""

    __slots__ = ("address", "host", "sock")

    def __init__(self, address: tuple[str, int], host: str):
        self.address, self.host, self.sock = address, host, None

    def close(self) -> None:
        """Close the socket if one is open."""
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def request(self, method: str, path: str, body_bytes: int, headers: bytes, timeout: float) -> tuple[int, int, float]:
        """Send one request; (status, body bytes, first body byte perf_counter time). RequestFailed on no answer."""
        payload = (f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\nContent-Length: {body_bytes}\r\n".encode()
                   + headers + b"\r\n")
        if body_bytes:
            payload += body_of(body_bytes)
        if self.sock is not None and _readable(self.sock):
            self.close()  # an idle keep-alive connection is readable only when the server closed it: start afresh
        reused = self.sock is not None
        try:
            return self._exchange(payload, timeout)
        except (ConnectionResetError, BrokenPipeError, _ClosedEarly):
            # The server closed a reused connection as we sent: try once more on a fresh one, as browsers do,
            # but only a request that may be repeated (never a POST: an upload or a grade must not go twice).
            self.close()
            if not reused or method not in IDEMPOTENT:
                raise RequestFailed("connection_reset") from None
            try:
                return self._exchange(payload, timeout)
            except (ConnectionResetError, BrokenPipeError, _ClosedEarly):
                self.close()
                raise RequestFailed("connection_reset") from None

    def _exchange(self, payload: bytes, timeout: float) -> tuple[int, int, float]:
        try:
            if self.sock is None:
                self.sock = socket.create_connection(self.address, timeout=timeout)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            else:
                self.sock.settimeout(timeout)
            self.sock.sendall(payload)
            answer = _Answer()
            parser = answer.parser = httptools.HttpResponseParser(answer)
            while not answer.complete:
                received = self.sock.recv_into(READ_BUFFER)
                if not received:
                    if answer.status or answer.body_bytes:
                        raise RequestFailed("closed_early")  # part of an answer came: never repeat the request
                    raise _ClosedEarly
                parser.feed_data(_VIEW[:received])
        except _ClosedEarly:
            self.close()
            raise
        except RequestFailed:
            self.close()
            raise
        except socket.timeout:
            self.close()
            raise RequestFailed("timeout") from None
        except ConnectionRefusedError:
            self.close()
            raise RequestFailed("connect_refused") from None
        except httptools.HttpParserError:
            self.close()
            raise RequestFailed("bad_response") from None
        except OSError as exc:
            self.close()
            if isinstance(exc, (ConnectionResetError, BrokenPipeError)):
                raise
            raise RequestFailed(f"os_error_{exc.errno or 0}") from None
        answer.parser = None
        if not answer.keep_alive:
            self.close()
        return answer.status, answer.body_bytes, answer.first_byte_at


class _ClosedEarly(Exception):
    """The server closed the connection before any of the answer came."""


def _readable(sock) -> bool:
    """True when the socket has something to read now (for an idle keep-alive connection: the server's close).

    One non-blocking peek on the underlying socket: select() cannot take descriptors above 1023.
    """
    try:
        sock._sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return True
