"""Name resolution shared by the probers: the system resolver, bounded in time."""

from __future__ import annotations

import asyncio
import ipaddress
import socket


async def resolve_ipv4(host: str, timeout_seconds: float) -> str:
    """The first IPv4 address of `host` (itself if it is one); OSError when it does not resolve in time."""
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, None, family=socket.AF_INET, type=socket.SOCK_STREAM),
                                       timeout_seconds)
    except TimeoutError:
        raise OSError(f"resolving {host!r} took over {timeout_seconds:g} s") from None
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host!r}: {exc.strerror}") from None
    return infos[0][4][0]
