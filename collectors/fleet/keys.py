"""The fleet's signing keys: one offline root key, and online keys for targets, snapshot and timestamp.

Keys are Ed25519, stored as PEM (PKCS#8, mode 0600). The root key lives apart from the repository (on
the ministry's offline machine or a removable disk); the online keys sit beside the repository so the
collector host can publish and refresh timestamps without it.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner

from core.errors import CoreError

ONLINE_ROLES = ("targets", "snapshot", "timestamp")


def online_key_path(fleet_dir: Path, role: str) -> Path:
    """Where the online key of `role` is kept."""
    return fleet_dir / "keys" / f"{role}.pem"


def generate(path: Path) -> CryptoSigner:
    """A new Ed25519 key written to `path` (mode 0600); refuses to overwrite an existing key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    signer = CryptoSigner.generate_ed25519()
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CoreError.one(path, "key", str(path), "already exists; refusing to overwrite a key") from None
    with os.fdopen(descriptor, "wb") as file:
        file.write(signer.private_bytes)
    return signer


def replace(path: Path) -> CryptoSigner:
    """A new Ed25519 key written over `path` atomically (the old one is gone once the new root is published)."""
    signer = CryptoSigner.generate_ed25519()
    fresh = path.with_suffix(".new")
    fresh.unlink(missing_ok=True)
    descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(signer.private_bytes)
    os.replace(fresh, path)
    return signer


def load(path: Path, field: str = "key") -> CryptoSigner:
    """The signer of the PEM key at `path`; CoreError naming `field` if it is missing or not an Ed25519 key."""
    try:
        private = load_pem_private_key(path.read_bytes(), None)
    except FileNotFoundError:
        raise CoreError.one(path, field, str(path), "no such key file") from None
    except (ValueError, TypeError) as exc:
        raise CoreError.one(path, field, str(path), f"not a PEM private key: {exc}") from None
    return CryptoSigner(private)
