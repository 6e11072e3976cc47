"""The probe's identity: a per-probe credential issued at enrolment (hardware ids are never identity)."""

from __future__ import annotations

import json
import os
import ssl
from datetime import datetime
from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from core.errors import CoreError
from core.school import SchoolId

CREDENTIALS_FILE = "credentials.json"


class Credentials(BaseModel):
    """What enrolment returns and the probe keeps (file mode 0600): who it is and its bearer token."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    probe_id: str = Field(min_length=1, max_length=64)
    school_id: SchoolId
    token: str = Field(min_length=16)
    expires_at: AwareDatetime
    config_version: str = ""

    def expires_within(self, seconds: float, now: datetime) -> bool:
        """True when the token expires in less than `seconds` from `now`."""
        return (self.expires_at - now).total_seconds() < seconds


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verification against the system CAs, or against `ca_file` (a ministry CA) when given."""
    return ssl.create_default_context(cafile=ca_file)


def save_credentials(state_dir: Path, credentials: Credentials) -> Path:
    """Write the credential atomically, readable by the owner only."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / CREDENTIALS_FILE
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(credentials.model_dump_json(indent=2))
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    directory = os.open(state_dir, os.O_RDONLY)
    try:
        os.fsync(directory)               # the rename itself survives a power cut
    finally:
        os.close(directory)
    return path


def load_credentials(state_dir: Path) -> Credentials | None:
    """The stored credential, or None before enrolment; a damaged file is an error naming it."""
    path = state_dir / CREDENTIALS_FILE
    if not path.exists():
        return None
    try:
        return Credentials.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as exc:
        raise CoreError.one(path, "(file)", None, f"damaged credential file, enrol again: {exc.errors()[0]['msg']}")


async def enroll(collector: str, school_id: str, enrollment_code: str, state_dir: Path,
                 ca_file: Path | None = None) -> Credentials:
    """Trade a one-time enrolment code for a credential and store it; CoreError says why it was refused."""
    from probes.http1 import TRANSPORT_ERRORS, json_request

    try:
        answer = await json_request("POST", f"{collector}/api/v1/enroll",
                                    {"school_id": school_id, "enrollment_code": enrollment_code},
                                    tls=tls_context(ca_file))
    except TRANSPORT_ERRORS as exc:
        raise CoreError.one("enrolment", "--collector", collector,
                            f"cannot reach the collector: {type(exc).__name__}: {exc}") from None
    if answer.status != 201:
        raise CoreError.one("enrolment", "--enrollment-code", enrollment_code,
                            f"refused by the collector (HTTP {answer.status}): {_detail(answer.body)}")
    try:
        credentials = Credentials.model_validate_json(answer.body)
    except ValidationError as exc:
        raise CoreError.one("enrolment", "--collector", collector, f"unreadable answer: {exc.errors()[0]['msg']}")
    save_credentials(state_dir, credentials)
    return credentials


def _detail(body: bytes) -> str:
    try:
        return str(json.loads(body).get("detail", body.decode(errors="replace")))[:300]
    except (ValueError, AttributeError):
        return body.decode(errors="replace")[:300]


ROTATE_BEFORE_SECONDS = 30 * 86400


async def rotate(collector: str, credentials: Credentials, state_dir: Path, tls: ssl.SSLContext) -> Credentials:
    """Trade the token for a fresh one and store it (the collector honours the old one until the new is used)."""
    from probes.http1 import json_request

    answer = await json_request("POST", f"{collector}/api/v1/probe/token", token=credentials.token, tls=tls)
    if answer.status != 200:
        raise ValueError(f"token rotation refused (HTTP {answer.status}): {_detail(answer.body)}")
    fresh = Credentials.model_validate_json(answer.body)
    save_credentials(state_dir, fresh)
    return fresh
