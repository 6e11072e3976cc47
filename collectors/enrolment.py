"""One-time enrolment codes and per-probe bearer tokens; only their SHA-256 hashes are stored.

Codes and tokens are long random strings, so a fast hash is enough: there is nothing to brute-force
that a slow password hash would protect.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass

from collectors.store import ProbeRecord, Store

CODE_TTL_SECONDS = 14 * 86400
TOKEN_TTL_SECONDS = 180 * 86400


def digest(secret: str) -> str:
    """The stored form of a code or token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_code(store: Store, school_id: str, ttl_seconds: float = CODE_TTL_SECONDS) -> str:
    """A new one-time code for one school, e.g. 'KQ4T-M2ZP-7XWA-RB3D' (80 random bits)."""
    text = base64.b32encode(secrets.token_bytes(10)).decode()
    code = "-".join(text[i:i + 4] for i in range(0, 16, 4))
    store.add_enrolment_code(digest(normalise_code(code)), school_id, time.time() + ttl_seconds)
    return code


def normalise_code(code: str) -> str:
    """Codes are typed by people: case and dashes do not matter."""
    return code.replace("-", "").replace(" ", "").upper()


@dataclass(frozen=True)
class Issued:
    """A credential handed to a probe (the token is shown once, never stored)."""

    probe_id: str
    school_id: str
    token: str
    expires_at: float


def enroll(store: Store, school_id: str, code: str, ttl_seconds: float = TOKEN_TTL_SECONDS) -> Issued | None:
    """Spend the code and register a new probe for the school; None if the code is not valid for it."""
    now = time.time()
    if not store.use_enrolment_code(digest(normalise_code(code)), school_id, now):
        return None
    probe_id = f"p-{school_id.lower()}-{secrets.token_hex(3)}"
    token = secrets.token_urlsafe(32)
    store.add_probe(probe_id, school_id, digest(token), now + ttl_seconds)
    return Issued(probe_id, school_id, token, now + ttl_seconds)


def authenticate(store: Store, token: str) -> ProbeRecord | None:
    """The probe a bearer token belongs to, if the token is valid now."""
    return store.probe_by_token(digest(token), time.time())


def rotate(store: Store, probe: ProbeRecord, ttl_seconds: float = TOKEN_TTL_SECONDS) -> Issued:
    """A fresh token for an authenticated probe; the old one stops working."""
    token = secrets.token_urlsafe(32)
    expires_at = time.time() + ttl_seconds
    store.replace_token(probe.probe_id, digest(token), expires_at)
    return Issued(probe.probe_id, probe.school_id, token, expires_at)
