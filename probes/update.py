"""Signed fleet updates on the probe: a TUF client (python-tuf ngclient) of the collector's /fleet/.

The probe trusts the root metadata it was installed with (`<state_dir>/fleet/metadata/root.json`) and
accepts nothing else unless it chains to it: unsigned or wrongly signed metadata, an expired timestamp
(a freeze attack), an older version than one already seen (a rollback attack) and metadata from two
different snapshots are all refused, counted by reason, logged, and the running state is kept.
Without an installed root the probe does not use the fleet repository at all.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import ssl
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import urllib3
import yaml
from tuf.api import exceptions
from tuf.ngclient import Updater
from tuf.ngclient.fetcher import FetcherInterface

from core import __version__
from core.fleet import INDEX_TARGET, FleetIndex
from core.metrics import family
from probes.versions import RESTART_EXIT, VERSIONS_ENV, Versions

FLEET_DIR = "fleet"
REASONS = ("unsigned", "expired", "rollback", "mixed", "tampered", "unreachable", "invalid")
log = logging.getLogger("mektepnet.probe.update")
_MIXED = re.compile(r"^Expected (snapshot version|\S+ v\d)")


def refusal_reason(exc: Exception) -> str:
    """The refusal class of a TUF client error: one of REASONS."""
    if isinstance(exc, exceptions.UnsignedMetadataError):
        return "unsigned"
    if isinstance(exc, exceptions.ExpiredMetadataError):
        return "expired"
    if isinstance(exc, exceptions.BadVersionNumberError):
        return "mixed" if _MIXED.match(str(exc)) else "rollback"
    if isinstance(exc, (exceptions.LengthOrHashMismatchError, exceptions.DownloadLengthMismatchError)):
        return "tampered"
    if isinstance(exc, (exceptions.DownloadError, OSError, urllib3.exceptions.HTTPError)):
        return "unreachable"
    return "invalid"


class _Fetcher(FetcherInterface):
    """HTTP(S) downloads for the TUF client, verifying servers against the probe's CA file."""

    def __init__(self, ca_file: Path | None, timeout_seconds: float):
        context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
        self.pool = urllib3.PoolManager(ssl_context=context, timeout=timeout_seconds, retries=False)

    def _fetch(self, url: str):
        answer = self.pool.request("GET", url, preload_content=False)
        if answer.status != 200:
            answer.release_conn()
            raise exceptions.DownloadHTTPError(f"HTTP {answer.status} for {url}", answer.status)
        try:
            yield from answer.stream(65_536)
        finally:
            answer.release_conn()


@dataclass(frozen=True)
class Offer:
    """What the signed index assigns to this probe now (each file verified against the signed targets)."""

    config_target: str | None
    config_sections: dict
    config_group: str | None
    agent_version: str | None
    wheel: Path | None


class FleetClient:
    """The probe's view of the fleet repository at `<collector>/fleet/`."""

    def __init__(self, collector: str, state_dir: Path, probe_id: str, school_id: str,
                 ca_file: Path | None = None, timeout_seconds: float = 30.0):
        self.base = f"{collector.rstrip('/')}/fleet"
        self.directory = Path(state_dir) / FLEET_DIR
        self.probe_id, self.school_id = probe_id, school_id
        self.fetcher = _Fetcher(ca_file, timeout_seconds)
        self.refusals: Counter[str] = Counter({reason: 0 for reason in REASONS})
        self.last_refusal: str | None = None
        self.offer: Offer | None = None

    def enabled(self) -> bool:
        """True if a trusted root was installed with the probe."""
        return (self.directory / "metadata" / "root.json").is_file()

    def check(self) -> Offer | None:
        """Refresh the signed metadata and fetch what this probe should run; None (counted, logged) if refused."""
        (self.directory / "targets").mkdir(parents=True, exist_ok=True)
        updater = Updater(str(self.directory / "metadata"), f"{self.base}/metadata/",
                          str(self.directory / "targets"), f"{self.base}/targets/", self.fetcher, bootstrap=None)
        try:
            index = FleetIndex.model_validate_json(self._target(updater, INDEX_TARGET).read_bytes())
            group = index.group_for(self.school_id)
            config_target = group.track.reference_for(self.probe_id, self.school_id) if group else None
            sections = yaml.safe_load(self._target(updater, config_target).read_text()) if config_target else {}
            version = index.agent.reference_for(self.probe_id, self.school_id)
            wheel = None
            if version is not None and version != __version__ and version in index.wheels:
                wheel = self._target(updater, index.wheels[version])
        except (exceptions.RepositoryError, exceptions.DownloadError, OSError, ValueError,
                urllib3.exceptions.HTTPError) as exc:
            reason = refusal_reason(exc)
            self.refusals[reason] += 1
            self.last_refusal = f"{reason}: {exc}"
            log.error("fleet update refused (%s): %s; keeping what runs", reason, exc)
            return None
        self.offer = Offer(config_target, sections or {}, group.name if group else None, version, wheel)
        return self.offer

    @staticmethod
    def _target(updater: Updater, path: str) -> Path:
        info = updater.get_targetinfo(path)
        if info is None:
            raise exceptions.RepositoryError(f"{path} is not a signed target")
        return Path(updater.find_cached_target(info) or updater.download_target(info))

    def refusal_family(self):
        """The refusal counters as a metric family for the probe's /metrics."""
        refusals = family("mektepnet_probe_update_refusals_total")
        for reason, count in sorted(self.refusals.items()):
            refusals.add_metric([reason], count)
        return refusals

    async def config(self) -> tuple[str, dict]:
        """(version, sections) of this probe's configuration, as the agent's configuration source; raises
        ValueError when the repository was refused (the agent keeps its running configuration)."""
        offer = await asyncio.to_thread(self.check)
        if offer is None:
            raise ValueError(f"fleet update refused: {self.last_refusal}")
        if offer.config_target is None:
            return "fleet:none", {}
        digest = hashlib.sha256(yaml.safe_dump(offer.config_sections, sort_keys=True).encode()).hexdigest()[:12]
        return f"fleet:{digest}", offer.config_sections


class AgentUpdates:
    """What the agent loop calls: install and switch to an assigned version, confirm a version on trial."""

    def __init__(self, client: FleetClient, versions_root: str | None = os.environ.get(VERSIONS_ENV)):
        self.client = client
        self.versions = Versions(Path(versions_root)) if versions_root else None

    def previous(self) -> str | None:
        """The version the launcher would return to (None when not run by the launcher or none is kept)."""
        return self.versions.previous() if self.versions is not None else None

    def on_trial(self) -> bool:
        """True while this version is on trial (it has not yet uploaded and measured)."""
        trial = self.versions.trial() if self.versions is not None else None
        return trial is not None and trial.get("version") == __version__

    def confirm_if_healthy(self, uploaded: bool, measured: bool) -> None:
        """End this version's trial once it has both uploaded and measured."""
        if self.versions is not None and uploaded and measured and self.versions.confirm(__version__):
            log.info("version %s confirmed healthy", __version__)

    def switch_if_assigned(self) -> int | None:
        """Install and switch to the assigned version; the exit code that asks the launcher to restart, or None."""
        offer = self.client.offer
        if self.versions is None or offer is None or offer.wheel is None or offer.agent_version is None:
            return None
        if offer.agent_version in self.versions.failed() or self.versions.trial() is not None:
            return None
        self.versions.install(offer.agent_version, offer.wheel)
        self.versions.switch(offer.agent_version)
        log.info("switched to version %s (was %s); restarting", offer.agent_version, __version__)
        return RESTART_EXIT
