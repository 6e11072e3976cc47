"""ndt7 access tokens for enrolled probes: `POST /api/v1/ndt7-token`, as M-Lab's Locate service hands them out.

The collector knows the probe (its bearer token); it answers a short-lived Ed25519-signed JWT for one
ndt7 server (by name) and one subtest, which the server verifies offline with the public key.
Without a signing key the endpoint answers 404 saying so.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from fastapi import APIRouter, Header, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from collectors import enrolment
from collectors.store import Store
from probes.ndt7.tokens import TokenSigner

SERVER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/\[\]-]{0,127}$"     # a name or a ws(s):// URL, as in server lists


class TokenRequest(BaseModel):
    """Which server (its name in the probe's server list) and which subtest the token is for."""

    model_config = ConfigDict(extra="forbid")
    server: str = Field(pattern=SERVER_NAME_PATTERN)
    test: Literal["download", "upload"]


class TokenAnswer(BaseModel):
    """The signed token and when it expires."""

    token: str
    expires_at: datetime
    server: str
    test: str


def router(store: Store, signing_key: Path | None) -> APIRouter:
    """The endpoint over `store` (who the probes are), signing with the key in `signing_key` (PEM Ed25519).

    The key is read once, here: a bad file is refused (CoreError) before the collector serves.
    """
    signer = TokenSigner.from_file(signing_key) if signing_key is not None else None
    api = APIRouter()

    @api.post("/api/v1/ndt7-token", response_model=TokenAnswer, responses={
        401: {"description": "missing, unknown, expired or revoked probe token"},
        404: {"description": "this collector issues no ndt7 tokens"},
        422: {"description": "server or test is invalid"}})
    def ndt7_token(request: TokenRequest, authorization: str | None = Header(default=None)) -> TokenAnswer:
        """A short-lived signed token for the calling probe to run one ndt7 subtest on one server."""
        scheme, _, bearer = (authorization or "").partition(" ")
        probe = enrolment.authenticate(store, bearer) if scheme.lower() == "bearer" and bearer else None
        if probe is None:
            raise HTTPException(401, "missing, unknown, expired or revoked token", headers={"WWW-Authenticate": "Bearer"})
        if signer is None:
            raise HTTPException(404, "this collector issues no ndt7 tokens: it runs without --ndt7-signing-key")
        token, expires_at = signer.issue(probe.probe_id, request.server, request.test)
        return TokenAnswer(token=token, expires_at=datetime.fromtimestamp(expires_at, timezone.utc),
                           server=request.server, test=request.test)

    return api
