"""Choosing a ministry ndt7 server: by the school's region and ISP, with fallback when one is busy.

The collector serves the list (with the probe configuration); the probe tests against the first
server that accepts, and the server actually used is recorded in every result. A server that
requires a token gets one fetched for it (by name) before each subtest.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from functools import partial

from probes.ndt7.client import ClientOptions, Ndt7Error, SubtestResult, run_test
from probes.ndt7.servers import ServerEntry, ServerList, rank


@dataclass
class Located:
    """The results from the server that ran the test, and every server tried before it and why it failed."""

    server: ServerEntry
    results: list[SubtestResult]
    refused: list[tuple[ServerEntry, str]] = field(default_factory=list)


TokenFetcher = Callable[[str, str], Awaitable[str]]      # (server name, test) -> access token


async def run_nearest(servers: ServerList, region: str, isp: str, options: ClientOptions = ClientOptions(),
                      run: Callable[[str, ClientOptions], Awaitable[list[SubtestResult]]] = run_test,
                      tokens: TokenFetcher | None = None) -> Located:
    """Run a test against the best-placed server that accepts; raise Ndt7Error if none does."""
    refused: list[tuple[ServerEntry, str]] = []
    for entry in rank(servers.servers, region, isp):
        chosen = options
        if entry.requires_token:
            if tokens is None:
                refused.append((entry, "requires an access token and no collector is set to issue one"))
                continue
            chosen = replace(options, token_source=partial(tokens, entry.name))
        try:
            return Located(entry, await run(entry.url, chosen), refused)
        except Ndt7Error as exc:
            refused.append((entry, str(exc)))
    reasons = "; ".join(f"{entry.name}: {why}" for entry, why in refused)
    raise Ndt7Error(f"no ndt7 server accepted the test ({reasons})", busy=True)
