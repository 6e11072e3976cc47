"""The fleet repository on the collector: its public files under /fleet/, and its state in /metrics."""

from __future__ import annotations

import logging
from datetime import UTC
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from collectors.fleet.repository import FleetRepository
from core.errors import CoreError
from core.metrics import escape_label, exposition_header

log = logging.getLogger("mektepnet.collector.fleet")
STATES = ("idle", "rolling", "stopped")


def _header(name: str) -> str:
    return exposition_header(name).rstrip("\n")


def mount(app: FastAPI, fleet_dir: Path | None) -> None:
    """Serve `<fleet_dir>/public` under /fleet/ (metadata/ and targets/), static and unauthenticated:
    everything in it is signed, and probes verify it."""
    if fleet_dir is not None:
        (Path(fleet_dir) / "public").mkdir(parents=True, exist_ok=True)
        app.mount("/fleet", StaticFiles(directory=Path(fleet_dir) / "public"), name="fleet")


def exposition(fleet_dir: Path | None) -> str:
    """The fleet's tracks, rollout shares and metadata versions in Prometheus' text format ('' without one)."""
    if fleet_dir is None:
        return ""
    try:
        repository = FleetRepository(fleet_dir)
        index, timestamp = repository.index(), repository.timestamp().signed
        versions = {"root": repository.root().signed.version, "targets": repository.targets().signed.version,
                    "snapshot": timestamp.snapshot_meta.version, "timestamp": timestamp.version}
    except (CoreError, OSError, ValueError) as exc:
        log.warning("fleet repository unreadable: %s", exc)
        return ""
    tracks = [("agent", index.agent), *((group.name, group.track) for group in index.groups)]
    lines = [_header("mektepnet_fleet_track_info")]
    for name, track in tracks:
        lines.append(f'mektepnet_fleet_track_info{{track="{escape_label(name)}",stable="{escape_label(track.stable or "")}",'
                     f'candidate="{escape_label(track.candidate or "")}"}} 1')
    lines.append(_header("mektepnet_fleet_rollout_share_ratio"))
    lines += [f'mektepnet_fleet_rollout_share_ratio{{track="{escape_label(name)}"}} '
              f'{track.share_percent / 100 if track.state == "rolling" else 0}' for name, track in tracks]
    lines.append(_header("mektepnet_fleet_rollout_state"))
    lines += [f'mektepnet_fleet_rollout_state{{track="{escape_label(name)}",state="{state}"}} {int(track.state == state)}'
              for name, track in tracks for state in STATES]
    lines.append(_header("mektepnet_fleet_metadata_version"))
    lines += [f'mektepnet_fleet_metadata_version{{role="{role}"}} {version}' for role, version in versions.items()]
    lines.append(_header("mektepnet_fleet_timestamp_expiry_timestamp_seconds"))
    lines.append(f"mektepnet_fleet_timestamp_expiry_timestamp_seconds "
                 f"{timestamp.expires.replace(tzinfo=UTC).timestamp():.0f}")
    return "\n".join(lines) + "\n"
