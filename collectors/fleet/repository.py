"""The signed fleet repository (The Update Framework): metadata and targets the collector serves under /fleet/.

Layout of a fleet directory: `public/metadata/` (N.root.json, N.targets.json, N.snapshot.json,
timestamp.json: consistent snapshots, so a probe never mixes two publications), `public/targets/`
(files prefixed with their SHA-256), `keys/` (the online keys) and `rollouts.json` (the centre's
rollout schedules, never served). Every change writes targets first and timestamp.json last.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, MetaFile, Root, Snapshot, TargetFile, Targets, Timestamp

from collectors.fleet import keys
from core.errors import CoreError
from core.fleet import INDEX_TARGET, FleetIndex


@dataclass(frozen=True)
class Lifetimes:
    """How long each role's metadata stays valid (days); an expired timestamp is a freeze to probes."""

    root_days: float = 365.0
    targets_days: float = 90.0
    snapshot_days: float = 7.0
    timestamp_days: float = 1.0


def _expiry(days: float) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(microsecond=0)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


class FleetRepository:
    """One fleet directory: read the current signed state, publish targets, rotate keys, refresh timestamps."""

    def __init__(self, fleet_dir: Path, lifetimes: Lifetimes = Lifetimes(), new: bool = False):
        self.fleet_dir, self.lifetimes = Path(fleet_dir), lifetimes
        self.metadata_dir = self.fleet_dir / "public" / "metadata"
        self.targets_dir = self.fleet_dir / "public" / "targets"
        if not new and not (self.metadata_dir / "timestamp.json").is_file():
            raise CoreError.one(self.fleet_dir, "--fleet-dir", str(self.fleet_dir),
                                "is not a fleet repository (run `mektepnet fleet keys init` first)")

    @classmethod
    def create(cls, fleet_dir: Path, root_key: Path, lifetimes: Lifetimes = Lifetimes()) -> FleetRepository:
        """A new repository: a new offline root key at `root_key`, new online keys, root v1 and an empty index."""
        fleet_dir = Path(fleet_dir)
        if (fleet_dir / "public" / "metadata").exists():
            raise CoreError.one(fleet_dir, "--fleet-dir", str(fleet_dir), "already holds a fleet repository")
        root_signer = keys.generate(root_key)
        online = {role: keys.generate(keys.online_key_path(fleet_dir, role)) for role in keys.ONLINE_ROLES}
        root = Root(expires=_expiry(lifetimes.root_days), consistent_snapshot=True)
        root.add_key(root_signer.public_key, Root.type)
        for role, signer in online.items():
            root.add_key(signer.public_key, role)
        document = Metadata(root)
        document.sign(root_signer)
        cls._write_root(fleet_dir / "public" / "metadata", document)
        empty = Metadata(Targets(version=1, expires=_expiry(lifetimes.targets_days)))
        snapshot = Metadata(Snapshot(version=1, expires=_expiry(lifetimes.snapshot_days)))
        timestamp = Metadata(Timestamp(version=1, expires=_expiry(lifetimes.timestamp_days),
                                       snapshot_meta=MetaFile(version=1)))
        repository = cls(fleet_dir, lifetimes, new=True)
        repository._commit(empty, snapshot, timestamp, FleetIndex())
        return repository

    @staticmethod
    def _write_root(metadata_dir: Path, document: Metadata[Root]) -> None:
        data = document.to_bytes()
        _write(metadata_dir / f"{document.signed.version}.root.json", data)
        _write(metadata_dir / "root.json", data)       # what a new probe is installed with

    def root(self) -> Metadata[Root]:
        """The newest root metadata."""
        return Metadata[Root].from_file(str(self.metadata_dir / "root.json"))

    def timestamp(self) -> Metadata[Timestamp]:
        """The current timestamp metadata."""
        return Metadata[Timestamp].from_file(str(self.metadata_dir / "timestamp.json"))

    def snapshot(self) -> Metadata[Snapshot]:
        """The snapshot the current timestamp names."""
        version = self.timestamp().signed.snapshot_meta.version
        return Metadata[Snapshot].from_file(str(self.metadata_dir / f"{version}.snapshot.json"))

    def targets(self) -> Metadata[Targets]:
        """The targets metadata the current snapshot names."""
        version = self.snapshot().signed.meta["targets.json"].version
        return Metadata[Targets].from_file(str(self.metadata_dir / f"{version}.targets.json"))

    def index(self) -> FleetIndex:
        """The fleet index as last published."""
        info = self.targets().signed.targets.get(INDEX_TARGET)
        return FleetIndex() if info is None else FleetIndex.model_validate_json(self.read_target(info))

    def read_target(self, info: TargetFile) -> bytes:
        """The bytes of a published target."""
        return self.targets_dir.joinpath(*self._stored_name(info)).read_bytes()

    @staticmethod
    def _stored_name(info: TargetFile) -> tuple[str, ...]:
        directory, _, name = info.path.rpartition("/")
        return (*([directory] if directory else []), f"{info.hashes['sha256']}.{name}")

    def _signer(self, role: str) -> CryptoSigner:
        return keys.load(keys.online_key_path(self.fleet_dir, role), f"{role} key")

    def publish(self, index: FleetIndex, files: dict[str, tuple[bytes, dict]] | None = None) -> int:
        """Add `files` (target path -> (bytes, custom fields)) and the new `index`; returns the targets version."""
        targets = self.targets()
        for path, (data, custom) in (files or {}).items():
            info = TargetFile.from_data(path, data, ["sha256"])
            info.unrecognized_fields["custom"] = custom
            _write(self.targets_dir.joinpath(*self._stored_name(info)), data)
            targets.signed.targets[path] = info
        return self._commit(targets, self.snapshot(), self.timestamp(), index)

    def _commit(self, targets: Metadata[Targets], snapshot: Metadata[Snapshot], timestamp: Metadata[Timestamp],
                index: FleetIndex) -> int:
        data = index.model_dump_json(indent=1).encode()
        info = TargetFile.from_data(INDEX_TARGET, data, ["sha256"])
        _write(self.targets_dir / f"{info.hashes['sha256']}.{INDEX_TARGET}", data)
        targets.signed.targets[INDEX_TARGET] = info
        targets.signed.version += 1
        targets.signed.expires = _expiry(self.lifetimes.targets_days)
        targets.sign(self._signer(Targets.type), append=False)
        _write(self.metadata_dir / f"{targets.signed.version}.targets.json", targets.to_bytes())
        snapshot.signed.meta["targets.json"] = MetaFile(version=targets.signed.version)
        self._sign_snapshot_and_timestamp(snapshot, timestamp)
        return targets.signed.version

    def _sign_snapshot_and_timestamp(self, snapshot: Metadata[Snapshot], timestamp: Metadata[Timestamp]) -> None:
        snapshot.signed.version += 1
        snapshot.signed.expires = _expiry(self.lifetimes.snapshot_days)
        snapshot.sign(self._signer(Snapshot.type), append=False)
        _write(self.metadata_dir / f"{snapshot.signed.version}.snapshot.json", snapshot.to_bytes())
        self.refresh_timestamp(snapshot.signed.version, timestamp)

    def refresh_timestamp(self, snapshot_version: int | None = None, timestamp: Metadata[Timestamp] | None = None) -> int:
        """Sign a new timestamp (run at least daily: probes refuse an expired one); returns its version."""
        timestamp = timestamp or self.timestamp()
        if snapshot_version is not None:
            timestamp.signed.snapshot_meta = MetaFile(version=snapshot_version)
        timestamp.signed.version += 1
        timestamp.signed.expires = _expiry(self.lifetimes.timestamp_days)
        timestamp.sign(self._signer(Timestamp.type), append=False)
        _write(self.metadata_dir / "timestamp.json", timestamp.to_bytes())
        return timestamp.signed.version

    def rotate(self, root_key: Path) -> int:
        """Replace every online key: a new root version, signed with the offline root key, trusts the new keys;
        targets, snapshot and timestamp are re-signed with them. Returns the new root version."""
        root_signer = keys.load(root_key, "--root-key")
        root = self.root()
        if root_signer.public_key.keyid not in root.signed.roles[Root.type].keyids:
            raise CoreError.one(root_key, "--root-key", str(root_key), "is not this repository's root key")
        for role in keys.ONLINE_ROLES:
            for keyid in list(root.signed.roles[role].keyids):
                root.signed.revoke_key(keyid, role)
            root.signed.add_key(keys.replace(keys.online_key_path(self.fleet_dir, role)).public_key, role)
        root.signed.version += 1
        root.signed.expires = _expiry(self.lifetimes.root_days)
        root.sign(root_signer, append=False)
        self._write_root(self.metadata_dir, root)
        self._commit(self.targets(), self.snapshot(), self.timestamp(), self.index())
        return root.signed.version

    def published(self, prefix: str) -> dict[str, TargetFile]:
        """Published targets whose path starts with `prefix`."""
        return {path: info for path, info in self.targets().signed.targets.items() if path.startswith(prefix)}

    def rollouts(self) -> dict:
        """The centre's rollout schedules (never served)."""
        path = self.fleet_dir / "rollouts.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def save_rollouts(self, rollouts: dict) -> None:
        """Store the rollout schedules."""
        _write(self.fleet_dir / "rollouts.json", json.dumps(rollouts, indent=1, sort_keys=True).encode())
