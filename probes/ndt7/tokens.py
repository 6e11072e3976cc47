"""ndt7 access tokens, as M-Lab's Locate service issues them: short-lived JWTs signed with Ed25519.

The collector, which knows the probe, signs a token for one server (`aud`, the server's name in the
list probes are given) and one subtest (`test`: download or upload), valid for a couple of minutes.
An ndt7 server verifies it offline with the public key and limits tests per probe (`sub`), so an
invented, altered, expired or unsigned token runs nothing. Keys never leave their files: no message
here quotes a key or a token.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.errors import CoreError
from probes.ndt7 import spec

ISSUER = "mektepnet-collector"
ALGORITHM = "EdDSA"                     # Ed25519 (RFC 8037); the only algorithm a server accepts
DEFAULT_TTL_SECONDS = 120.0             # one subtest runs at most 13 s: the rest is room for clocks and retries
LEEWAY_SECONDS = 30.0                   # tolerated clock difference between collector and ndt7 server
MAX_TOKEN_CHARS = 2048
SIGNING_KEY_FILE = "ndt7-signing-key.pem"
PUBLIC_KEY_FILE = "ndt7-public-key.pem"


@dataclass(frozen=True)
class Grant:
    """What a verified token allows: one subtest on one server for one probe, until `expires_at` (epoch s)."""

    probe_id: str
    server: str
    test: str
    expires_at: float


@dataclass(frozen=True)
class Refusal:
    """Why a token was refused: 401 (not a valid token of ours) or 403 (valid, but not for this)."""

    status: int
    reason: str


class TokenSigner:
    """Issues tokens with the collector's private key; `clock` gives epoch seconds."""

    def __init__(self, key: Ed25519PrivateKey, ttl_seconds: float = DEFAULT_TTL_SECONDS,
                 clock: Callable[[], float] = time.time):
        self._key, self.ttl_seconds, self.clock = key, ttl_seconds, clock

    @classmethod
    def from_file(cls, path: Path, option: str = "--ndt7-signing-key") -> "TokenSigner":
        """A signer over a PEM Ed25519 private key; CoreError naming `option` if the file is not one."""
        try:
            key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
        except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise CoreError.one("command line", option, str(path), f"not a readable PEM private key ({type(exc).__name__})")
        if not isinstance(key, Ed25519PrivateKey):
            raise CoreError.one("command line", option, str(path), "not an Ed25519 key (make one with `mektepnet ndt7 keygen`)")
        return cls(key)

    def issue(self, probe_id: str, server: str, test: str) -> tuple[str, float]:
        """A token for `probe_id` to run `test` on `server`, and when it expires (epoch seconds)."""
        now = self.clock()
        expires_at = now + self.ttl_seconds
        claims = {"iss": ISSUER, "sub": probe_id, "aud": server, "test": test, "iat": int(now), "nbf": int(now),
                  "exp": int(expires_at), "jti": secrets.token_hex(8)}
        return jwt.encode(claims, self._key, algorithm=ALGORITHM), float(int(expires_at))


class TokenVerifier:
    """Checks tokens for one server (its `audience` name) with the collector's public key."""

    def __init__(self, key: Ed25519PublicKey, audience: str, leeway_seconds: float = LEEWAY_SECONDS):
        self._key, self.audience, self.leeway_seconds = key, audience, leeway_seconds

    @classmethod
    def from_file(cls, path: Path, audience: str, option: str = "--token-public-key") -> "TokenVerifier":
        """A verifier over a PEM Ed25519 public key; CoreError naming `option` if the file is not one."""
        try:
            key = serialization.load_pem_public_key(Path(path).read_bytes())
        except (OSError, ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise CoreError.one("command line", option, str(path), f"not a readable PEM public key ({type(exc).__name__})")
        if not isinstance(key, Ed25519PublicKey):
            raise CoreError.one("command line", option, str(path), "not an Ed25519 key (make one with `mektepnet ndt7 keygen`)")
        return cls(key, audience)

    def verify(self, token: str | None, test: str) -> Grant | Refusal:
        """The grant a token gives for `test` on this server, or why it gives none."""
        if not token:
            return Refusal(401, f"{spec.TOKEN_PARAMETER} is required: ask the collector for one")
        if len(token) > MAX_TOKEN_CHARS:
            return Refusal(401, f"{spec.TOKEN_PARAMETER} over {MAX_TOKEN_CHARS} characters")
        try:
            claims = jwt.decode(token, self._key, algorithms=[ALGORITHM], audience=self.audience, issuer=ISSUER,
                                leeway=self.leeway_seconds,
                                options={"require": ["iss", "sub", "aud", "exp", "iat", "test"]})
        except jwt.ExpiredSignatureError:
            return Refusal(401, f"{spec.TOKEN_PARAMETER} has expired: ask the collector for a new one")
        except jwt.InvalidAudienceError:
            return Refusal(403, f"{spec.TOKEN_PARAMETER} is for another server, not {self.audience!r}")
        except jwt.InvalidTokenError as exc:
            return Refusal(401, f"{spec.TOKEN_PARAMETER} is not a valid token of the collector ({type(exc).__name__})")
        if claims["test"] != test:
            return Refusal(403, f"{spec.TOKEN_PARAMETER} is for the {str(claims['test'])[:20]} test, not {test}")
        return Grant(str(claims["sub"]), self.audience, test, float(claims["exp"]))


def generate_key_pair(directory: Path) -> tuple[Path, Path]:
    """Write a new Ed25519 key pair into `directory` (the private key readable by its owner only).

    Refuses (CoreError) to overwrite either file: replacing a key invalidates every server's copy.
    """
    directory.mkdir(parents=True, exist_ok=True)
    private_path, public_path = directory / SIGNING_KEY_FILE, directory / PUBLIC_KEY_FILE
    for path in (private_path, public_path):
        if path.exists():
            raise CoreError.one("command line", "--out", str(directory), f"{path.name} exists already; "
                                "move it away first (servers hold the matching public key)")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(private_pem)
    public_path.write_bytes(public_pem)
    return private_path, public_path
