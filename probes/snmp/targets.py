"""The SNMP targets file: which devices to poll, with which credentials, and which of their ports matter.

    defaults: {port: 161, timeout_seconds: 2, retries: 1}
    targets:
      - name: almaty-agg-01              # an operator aggregation node, polled from the centre
        address: 10.20.0.1
        version: v3
        user: mektepnet
        auth_protocol: SHA
        auth_key: "..."
        priv_protocol: AES
        priv_key: "..."
        bottleneck_ports: [xe-0/0/1]     # their ifHighSpeed is the capacity that matters
      - name: school-router
        school_id: KZ-ALM-0042           # a school's router: utilisation against its contract
        address: 192.168.1.1
        version: v2c
        community: mektepnet-ro
        uplink: ge-0/0/0                 # the port towards the operator's modem

Secrets may be given as `auth_key_file` / `priv_key_file` / `community_file` instead (read at load).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core.config import load_yaml_model
from core.errors import CoreError, problems_from_pydantic
from core.school import SchoolId

AUTH_PROTOCOLS = ("MD5", "SHA", "SHA224", "SHA256", "SHA384", "SHA512")
PRIV_PROTOCOLS = ("DES", "3DES", "AES", "AES192", "AES256")


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Defaults(_Strict):
    """What every target gets unless it says otherwise."""

    port: int = Field(default=161, ge=1, le=65535)
    timeout_seconds: float = Field(default=2.0, gt=0, le=60)
    retries: int = Field(default=1, ge=0, le=5)


class SnmpCredentials(_Strict):
    """How to speak to a device: SNMPv2c with a community, or SNMPv3 with a user (authPriv: SHA/AES)."""

    version: Literal["v2c", "v3"]
    community: str | None = Field(default=None, min_length=1)
    user: str | None = Field(default=None, min_length=1)
    auth_protocol: Literal[AUTH_PROTOCOLS] | None = None         # type: ignore[valid-type]
    auth_key: str | None = Field(default=None, min_length=8)
    priv_protocol: Literal[PRIV_PROTOCOLS] | None = None         # type: ignore[valid-type]
    priv_key: str | None = Field(default=None, min_length=8)

    @model_validator(mode="after")
    def _credentials(self) -> "SnmpCredentials":
        where = f"target {getattr(self, 'name', 'snmp')!r}"
        if self.version == "v2c" and self.community is None:
            raise ValueError(f"{where}: version v2c needs a community")
        if self.version == "v3":
            if self.user is None:
                raise ValueError(f"{where}: version v3 needs a user")
            if (self.auth_protocol is None) != (self.auth_key is None):
                raise ValueError(f"{where}: auth_protocol and auth_key go together")
            if (self.priv_protocol is None) != (self.priv_key is None):
                raise ValueError(f"{where}: priv_protocol and priv_key go together")
            if self.priv_protocol is not None and self.auth_protocol is None:
                raise ValueError(f"{where}: privacy (priv_protocol) needs authentication too")
        return self

    def credentials(self) -> dict:
        """The credential fields alone (to build a Target from another model that has them)."""
        return {name: getattr(self, name) for name in SnmpCredentials.model_fields}


class Target(SnmpCredentials):
    """One device to poll."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
    address: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)
    timeout_seconds: float | None = Field(default=None, gt=0, le=60)
    retries: int | None = Field(default=None, ge=0, le=5)
    school_id: SchoolId | None = None
    uplink: str | None = None                                    # a school router's port towards the modem
    bottleneck_ports: tuple[str, ...] = ()                       # ports whose ifHighSpeed is the capacity

    @model_validator(mode="after")
    def _uplink_of_a_school(self) -> "Target":
        if self.uplink is not None and self.school_id is None:
            raise ValueError(f"target {self.name!r}: uplink={self.uplink!r} is a school router's port; "
                             "give the school_id whose contract it carries")
        return self


class TargetsFile(_Strict):
    """The whole file."""

    defaults: Defaults = Defaults()
    targets: tuple[Target, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> "TargetsFile":
        names = [t.name for t in self.targets]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"targets: name {', '.join(map(repr, repeated))} is used more than once; "
                             "names must be unique")
        return self

    def port(self, target: Target) -> int:
        return target.port or self.defaults.port

    def timeout(self, target: Target) -> float:
        return target.timeout_seconds or self.defaults.timeout_seconds

    def retries(self, target: Target) -> int:
        return self.defaults.retries if target.retries is None else target.retries


_SECRET_FILES = ("community", "auth_key", "priv_key")


def load_targets(path: str | Path) -> TargetsFile:
    """Read and check a targets file (CoreError naming each bad field and value); `*_file` secrets are read."""
    path = Path(path)
    raw = load_yaml_model(path, _RawFile)
    targets = []
    for index, target in enumerate(raw.targets):
        entry = dict(target)
        for secret in _SECRET_FILES:
            file_key = f"{secret}_file"
            if file_key in entry:
                secret_path = (path.parent / str(entry.pop(file_key))).resolve()
                if not secret_path.is_file():
                    raise CoreError.one(path, f"targets[{index}].{file_key}", str(secret_path), "no such file")
                entry[secret] = secret_path.read_text(encoding="utf-8").strip()
        targets.append(entry)
    return load_model({"defaults": raw.defaults, "targets": targets}, path)


def load_model(data: dict, source: str | Path) -> TargetsFile:
    """Validate a targets document already read (CoreError naming each bad field and value)."""
    try:
        return TargetsFile.model_validate(data)
    except ValidationError as exc:
        raise CoreError(problems_from_pydantic(exc, source)) from None


class _RawFile(BaseModel):
    """The file before secrets are read from their files: loose entries, strict defaults."""

    model_config = ConfigDict(extra="forbid")
    defaults: dict = Field(default_factory=dict)
    targets: list[dict] = Field(min_length=1)
