"""The ndt7 servers a probe may test against, as the collector hands them out, and their order of preference.

Kept apart from the client so that a probe's configuration can name servers without loading the
WebSocket stack until a test runs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_MAX_BYTES = 100_000_000      # per subtest; a 10-s test at 80 Mbit/s


class ServerEntry(BaseModel):
    """One ndt7 server: where it is and whom it is nearest to (region code, ISP); empty means any.

    `requires_token`: the server verifies signed access tokens, issued by the collector for `name`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    name: str = Field(min_length=1)
    url: str = Field(pattern=r"^wss?://")
    region: str | None = None
    isp: str | None = None
    requires_token: bool = False


class ServerList(BaseModel):
    """The list the collector hands out, with its version."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    version: str
    servers: tuple[ServerEntry, ...] = Field(min_length=1)


def rank(servers: tuple[ServerEntry, ...], region: str, isp: str) -> list[ServerEntry]:
    """Servers in the order to try: same region and ISP, same region, same ISP, the rest (list order kept)."""
    def score(entry: ServerEntry) -> int:
        return -2 * (entry.region == region) - (entry.isp is not None and entry.isp == isp)

    return sorted(servers, key=score)
