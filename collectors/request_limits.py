"""Bounds on what one request may cost: a body limit on every endpoint, errors that never echo unbounded input.

Body limits are enforced before the application reads a byte: a declared Content-Length over the
endpoint's limit is answered 413 at once; a body without one (chunked) is cut off with 413 as soon as
it passes the limit, so no endpoint ever holds more than its limit in memory, whoever calls it.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ECHOED_CHARS = 80                   # an error quotes at most this much of the input


class BodyTooLarge(HTTPException):
    """A body over its endpoint's limit (413); raised while the body is being received."""

    def __init__(self, what: str, limit_bytes: int):
        super().__init__(413, f"{what}: the limit is {limit_bytes} bytes")


class BodyLimit:
    """ASGI middleware: `limit_of(path)` bytes at most in any request body."""

    def __init__(self, app: ASGIApp, limit_of: Callable[[str], int]):
        self.app, self.limit_of = app, limit_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope["path"])
        declared = dict(scope["headers"]).get(b"content-length", b"").decode("latin-1")
        if declared.isdigit() and int(declared) > limit:
            await _refuse(send, BodyTooLarge(f"content-length={declared}", limit))
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(f"body over {limit} bytes", limit)
            return message

        await self.app(scope, limited, send)


async def _refuse(send: Send, error: BodyTooLarge) -> None:
    body = json.dumps({"detail": error.detail}).encode()
    await send({"type": "http.response.start", "status": error.status_code,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class AsciiJSONResponse(JSONResponse):
    """JSON escaped to ASCII: an error may quote input that UTF-8 cannot carry (a lone surrogate)."""

    def render(self, content: object) -> bytes:
        return json.dumps(content, separators=(",", ":")).encode("ascii")


def bounded_error(error: dict) -> dict:
    """A validation error as answered: location, message and input cut to ECHOED_CHARS each."""
    def cut(value: object) -> object:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        return text if len(text) <= ECHOED_CHARS else text[:ECHOED_CHARS - 3] + "..."

    bounded = {"type": error["type"], "msg": cut(error["msg"]),
               "loc": [cut(part) if isinstance(part, str) else part for part in error["loc"]]}
    if "input" in error:
        bounded["input"] = cut(error["input"])
    return bounded
