"""The probe's side of ndt7 access tokens: asking its collector for one before each subtest.

The collector authenticates the probe by its bearer token (read from the credential file each time,
so a rotated token is used at once) and answers a signed token for one server and one subtest.
Kept apart from the client: the probe's configuration holds a CollectorAccess without loading WebSockets.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from core.errors import CoreError
from probes.identity import load_credentials, tls_context

TOKEN_PATH = "/api/v1/ndt7-token"


class CollectorAccess(BaseModel):
    """Where a probe asks for ndt7 tokens: its collector, its state directory (credential), its CA file."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    collector: str
    state_dir: Path
    ca_file: Path | None = None

    async def fetch_token(self, server: str, test: str) -> str:
        """A signed token for `test` on the server named `server`; Ndt7Error says why there is none."""
        from probes.http1 import TRANSPORT_ERRORS, json_request
        from probes.ndt7.client import Ndt7Error

        try:
            credentials = load_credentials(self.state_dir)
        except CoreError as exc:
            raise Ndt7Error(f"no ndt7 token: {exc}") from None
        if credentials is None:
            raise Ndt7Error("no ndt7 token: the probe is not enrolled with its collector")
        try:
            answer = await json_request("POST", f"{self.collector}{TOKEN_PATH}", {"server": server, "test": test},
                                        token=credentials.token, tls=tls_context(self.ca_file), timeout_seconds=15)
        except TRANSPORT_ERRORS as exc:
            raise Ndt7Error(f"no ndt7 token: collector unreachable: {type(exc).__name__}: {exc}") from None
        if answer.status != 200:
            detail = answer.body.decode(errors="replace")[:200]
            raise Ndt7Error(f"no ndt7 token: the collector answered HTTP {answer.status}: {detail}")
        try:
            return TokenAnswer.model_validate_json(answer.body).token
        except ValidationError:
            raise Ndt7Error("no ndt7 token: the collector's answer is not a token") from None


class TokenAnswer(BaseModel):
    """What the collector answers: the token, and when it expires."""

    model_config = ConfigDict(extra="ignore")
    token: str
    expires_at: AwareDatetime
