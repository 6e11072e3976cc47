"""Admission before the API sees a request: bounded header and body times, in-flight requests per token.

One token must not hold the collector: a probe sending its body at 1 byte/s, or a hundred of them
sharing one token, would otherwise keep every in-flight slot of the ingest API and every other
school would be shed. Here, before a byte of body is read, a token may hold at most
`max_in_flight_per_token` requests (the rest of the slots stay for other schools); a body must have
arrived within `body_timeout_seconds` of its request head (else 408 and the slot is freed); and a
connection must send a complete request head within `header_timeout_seconds` of opening or of its
previous answer (else it is closed).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter

from fastapi import HTTPException
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class AdmissionSettings(BaseModel):
    """Time bounds of a request's head and body (seconds) and the requests one token may have in flight."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    header_timeout_seconds: float = Field(default=10.0, gt=0, le=600)
    body_timeout_seconds: float = Field(default=120.0, gt=0, le=3600)   # 4 MB at 300 kbit/s, with room
    max_in_flight_per_token: int = Field(default=4, ge=1, le=64)        # a probe uploads one batch at a time
    retry_after_seconds: int = Field(default=10, ge=1, le=3600)


class Admission:
    """ASGI middleware: per-token in-flight limit (429) before the body, and a deadline on the body (408)."""

    def __init__(self, app: ASGIApp, settings: AdmissionSettings):
        self.app, self.settings = app, settings
        self.in_flight: Counter[str] = Counter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _token_key(scope)
        if token is not None and self.in_flight[token] >= self.settings.max_in_flight_per_token:
            retry = str(self.settings.retry_after_seconds)
            answer = JSONResponse({"detail": f"this token already has {self.in_flight[token]} requests in flight "
                                             f"(at most {self.settings.max_in_flight_per_token}); retry later"},
                                  429, headers={"Retry-After": retry, "Connection": "close"})
            await answer(scope, receive, send)
            return
        if token is not None:
            self.in_flight[token] += 1
        try:
            await self.app(scope, _body_within(receive, self.settings.body_timeout_seconds), send)
        finally:
            if token is not None:
                self.in_flight[token] -= 1
                if not self.in_flight[token]:
                    del self.in_flight[token]


def _token_key(scope: Scope) -> str | None:
    """A digest of the bearer token of the request (never kept in clear), or None without one."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            if scheme.lower() == b"bearer" and token.strip():
                return hashlib.sha256(token.strip()).hexdigest()
    return None


def _body_within(receive: Receive, timeout_seconds: float) -> Receive:
    """`receive` whose body must be complete `timeout_seconds` after the first call; HTTPException 408 if not."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_seconds
    complete = False

    async def bounded() -> Message:
        nonlocal complete
        if complete:                           # after the body only a disconnect can come: no deadline
            return await receive()
        try:
            message = await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.0))
        except TimeoutError:
            raise HTTPException(408, f"the request body did not arrive within {timeout_seconds:g} s",
                                headers={"Connection": "close"}) from None
        complete = message["type"] != "http.request" or not message.get("more_body", False)
        return message

    return bounded


def with_header_deadline(protocol_class: type[asyncio.Protocol], timeout_seconds: float) -> type[asyncio.Protocol]:
    """A subclass of uvicorn's HTTP protocol `protocol_class` that closes a connection whose request head
    is not complete `timeout_seconds` after it opened or after its previous answer was sent."""

    class HeaderDeadline(protocol_class):  # type: ignore[misc, valid-type]
        _head_timer: asyncio.TimerHandle | None = None
        _waiting_after = None                  # the request cycle before the head being waited for

        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._await_head()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.cycle is not self._waiting_after:       # a new request head was parsed
                self._cancel_head_timer()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._await_head()

        def connection_lost(self, exc: Exception | None) -> None:
            self._cancel_head_timer()
            super().connection_lost(exc)

        def _await_head(self) -> None:
            self._cancel_head_timer()
            self._waiting_after = self.cycle
            self._head_timer = self.loop.call_later(timeout_seconds, self._head_overdue)

        def _head_overdue(self) -> None:
            self._head_timer = None
            if self.cycle is self._waiting_after:
                self.transport.close()

        def _cancel_head_timer(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

    HeaderDeadline.__name__ = f"HeaderDeadline{protocol_class.__name__}"
    return HeaderDeadline
