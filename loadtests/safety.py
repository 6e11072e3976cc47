"""The target allow-list: loopback by default; anything else only if the profile names it and the operator confirms.

Checked by `mektepnet loadtest` before any process starts and again in every Locust process before a
user is spawned, so a refused target receives nothing, not even a connection attempt. Names are not
resolved: a host is judged by what the profile and the command line say.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from core.errors import CoreError
from loadtests.profile import Profile

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def host_of(url: str) -> str:
    """The host of an http:// URL, lower-case, without port or brackets."""
    return (urlsplit(url).hostname or "").lower()


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and the loopback names."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def approved_targets(profile: Profile, confirmed: list[str], override: str | None = None) -> list[str]:
    """The base URLs a run may aim at; CoreError names each target that is refused and why."""
    targets = [override.rstrip("/")] if override else profile.targets
    allowed = {host.lower() for host in profile.allow_hosts}
    confirmed_hosts = {host.lower() for host in confirmed}
    problems = []
    for target in targets:
        host = host_of(target)
        if not host:
            problems.append(CoreError.one("profile", "targets", target, "has no host").problems[0])
        elif is_loopback(host):
            continue
        elif host not in allowed:
            problems.append(CoreError.one("profile", "targets", target,
                                          f"host {host} is not loopback and not in the profile's allow_hosts: refused, "
                                          "nothing was sent").problems[0])
        elif host not in confirmed_hosts:
            problems.append(CoreError.one("command line", "--confirm-target", host,
                                          f"target {target} is in allow_hosts but was not confirmed; "
                                          f"add --confirm-target {host} to aim a load at it").problems[0])
    if problems:
        raise CoreError(problems)
    return targets
