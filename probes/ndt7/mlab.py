"""Testing against M-Lab's public ndt7 platform: supported, off by default.

M-Lab hands out servers through its Locate API v2, whose answers carry per-test access tokens; it
asks every client to send a client name, and unattended clients to wait a random time between tests.
Every test on M-Lab is published as open data, with the client's IP address: a school's address
becomes public. That is why MektepNet tests against the ministry's own servers unless told otherwise.
"""

from __future__ import annotations

import asyncio
import json
import random
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from probes.ndt7 import spec
from probes.ndt7.client import ClientOptions, Ndt7Error, SubtestResult, run_subtest

LOCATE_URL = "https://locate.measurementlab.net/v2/nearest/ndt/ndt7"
PRIVACY_NOTICE = ("M-Lab publishes every test, with the client's IP address, as open data: testing a school "
                  "against M-Lab makes the school's address public.")


@dataclass(frozen=True)
class MlabTarget:
    """One M-Lab machine and the tokenised URLs of its two subtests."""

    machine: str
    download_url: str
    upload_url: str


def parse_locate(answer: dict, secure: bool = True) -> list[MlabTarget]:
    """The machines in a Locate v2 answer, in the order given, with wss:// (or ws://) URLs."""
    scheme = "wss" if secure else "ws"
    targets = []
    for result in answer.get("results", []):
        urls = result.get("urls", {})
        download = urls.get(f"{scheme}://{spec.DOWNLOAD_PATH}")
        upload = urls.get(f"{scheme}://{spec.UPLOAD_PATH}")
        if download and upload:
            targets.append(MlabTarget(result.get("machine", "?"), download, upload))
    return targets


def locate(client_name: str, client_version: str, locate_url: str = LOCATE_URL, secure: bool = True,
           timeout: float = 10) -> list[MlabTarget]:
    """Ask the Locate API for the nearest machines; raise Ndt7Error(busy) when it has no capacity (204)."""
    query = urllib.parse.urlencode({"client_name": client_name, "client_version": client_version})
    request = urllib.request.Request(f"{locate_url}?{query}", headers={"User-Agent": f"{client_name}/{client_version}"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.status == 204:
                raise Ndt7Error("M-Lab Locate: no capacity now (204); back off and retry later", busy=True)
            return parse_locate(json.loads(response.read()), secure)
    except urllib.error.URLError as exc:
        raise Ndt7Error(f"M-Lab Locate: {exc.reason}") from None


async def run_mlab_test(target: MlabTarget, options: ClientOptions, on_progress=None) -> list[SubtestResult]:
    """Download then upload on one located machine, with the URLs (and tokens) Locate gave."""
    results = []
    for test, url in ((spec.DOWNLOAD, target.download_url), (spec.UPLOAD, target.upload_url)):
        server = url.split(spec.DOWNLOAD_PATH)[0].split(spec.UPLOAD_PATH)[0]
        results.append(await run_subtest(server, test, options, on_progress, url=url))
    return results


def unattended_wait_seconds(rng: random.Random) -> float:
    """M-Lab's schedule for unattended clients: exponential, mean 6 h, clamped to [36 min, 15 h]."""
    draw = rng.expovariate(1 / spec.UNATTENDED_MEAN_WAIT_SECONDS)
    return min(max(draw, spec.UNATTENDED_MIN_WAIT_SECONDS), spec.UNATTENDED_MAX_WAIT_SECONDS)


async def locate_and_test(client_name: str, client_version: str, options: ClientOptions,
                          locate_url: str = LOCATE_URL, on_progress=None) -> list[SubtestResult]:
    """Locate, then test on the first machine that accepts."""
    targets = await asyncio.to_thread(locate, client_name, client_version, locate_url,
                                      locate_url.startswith("https"))
    errors = []
    for target in targets:
        try:
            return await run_mlab_test(target, options, on_progress)
        except Ndt7Error as exc:
            errors.append(f"{target.machine}: {exc}")
    raise Ndt7Error("no M-Lab machine accepted the test: " + "; ".join(errors or ["Locate returned none"]), busy=True)
