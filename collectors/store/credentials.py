"""Probes and their credentials in the store: one-time enrolment codes and bearer tokens, both hashed."""

from __future__ import annotations

import time
from dataclasses import dataclass

from collectors.store.connection import Connections

LAST_SEEN_RESOLUTION_SECONDS = 60.0


@dataclass(frozen=True)
class ProbeRecord:
    """A probe as the store knows it (times in unix seconds)."""

    probe_id: str
    school_id: str
    token_expires_at: float
    revoked_at: float | None
    last_seen_at: float | None


class Credentials(Connections):
    """Enrolment codes, probes and their tokens (hashes only; the secrets never reach the store)."""

    def add_enrolment_code(self, code_hash: str, school_id: str, expires_at: float) -> None:
        """Remember a one-time enrolment code (hashed) valid until `expires_at` (unix seconds)."""
        with self._lock:
            self._db.execute("INSERT INTO enrolment_codes VALUES (?, ?, ?, NULL)", (code_hash, school_id, expires_at))

    def use_enrolment_code(self, code_hash: str, school_id: str, now: float) -> bool:
        """Spend a code for `school_id`: True once, if it exists, is unused and has not expired."""
        with self._lock:
            cursor = self._db.execute(
                "UPDATE enrolment_codes SET used_at = ? WHERE code_hash = ? AND school_id = ? AND used_at IS NULL "
                "AND expires_at > ?", (now, code_hash, school_id, now))
            return cursor.rowcount == 1

    def add_probe(self, probe_id: str, school_id: str, token_hash: str, expires_at: float) -> None:
        """Register a probe with its (hashed) token, valid until `expires_at` (unix seconds)."""
        with self._lock:
            self._db.execute("INSERT INTO probes (probe_id, school_id, token_hash, token_expires_at, created_at) "
                             "VALUES (?, ?, ?, ?, ?)", (probe_id, school_id, token_hash, expires_at, time.time()))

    def replace_token(self, probe_id: str, token_hash: str, expires_at: float) -> None:
        """Rotate a probe's token. The old one keeps working until the new one is first used, so a probe
        that lost the answer (a power cut before it saved the new token) is not locked out."""
        with self._lock:
            self._db.execute("UPDATE probes SET previous_token_hash = token_hash, token_hash = ?, token_expires_at = ? "
                             "WHERE probe_id = ?", (token_hash, expires_at, probe_id))

    def revoke(self, probe_id: str, now: float) -> bool:
        """Revoke a probe's token; False if no such probe."""
        with self._lock:
            return self._db.execute("UPDATE probes SET revoked_at = ? WHERE probe_id = ?", (now, probe_id)).rowcount == 1

    def probe_by_token(self, token_hash: str, now: float) -> ProbeRecord | None:
        """The probe holding this token, if the token is valid (known, not expired, not revoked)."""
        rows = self._read(
            "SELECT probe_id, school_id, token_expires_at, revoked_at, last_seen_at, token_hash = ?, "
            "previous_token_hash FROM probes WHERE (token_hash = ? OR previous_token_hash = ?) "
            "AND revoked_at IS NULL AND token_expires_at > ?", (token_hash, token_hash, token_hash, now))
        if not rows:
            return None
        row = rows[0]
        current, previous = row[5], row[6]
        # Writes only when something changed or a minute passed: authentication must not cost an fsync per batch.
        if (current and previous is not None) or row[4] is None or now - row[4] > LAST_SEEN_RESOLUTION_SECONDS:
            with self._lock:
                if current and previous is not None:
                    self._db.execute("UPDATE probes SET previous_token_hash = NULL WHERE probe_id = ?", (row[0],))
                self._db.execute("UPDATE probes SET last_seen_at = ? WHERE probe_id = ?", (now, row[0]))
        return ProbeRecord(*row[:5])

    def probes(self) -> list[ProbeRecord]:
        """Every enrolled probe."""
        rows = self._read("SELECT probe_id, school_id, token_expires_at, revoked_at, last_seen_at "
                          "FROM probes ORDER BY probe_id")
        return [ProbeRecord(*row) for row in rows]
