"""The agent's status snapshot: what `mektepnet probe status` shows, kept in the outbox's state.

The running agent writes it every 15 s; `probe status` reads it from another process, read-only.
"""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from core.errors import CoreError, problems_from_pydantic
from core.measurement import Kind, Measurement
from probes.outbox import Outbox

STATUS_KEY = "status"


class LastResult(BaseModel):
    """The latest record of one (kind, target): when it ended, how, and its values in base units."""

    model_config = ConfigDict(frozen=True)

    kind: Kind
    target: str
    end: AwareDatetime
    error: str | None
    method: str
    values: dict[str, float]

    @classmethod
    def of(cls, measurement: Measurement) -> "LastResult":
        """The summary of `measurement`."""
        return cls(kind=measurement.kind, target=measurement.target, end=measurement.end, error=measurement.error,
                   method=measurement.method, values=measurement.values)


class AgentStatus(BaseModel):
    """The agent's state at `written_at` (Unix seconds, as are the other `_at` fields)."""

    model_config = ConfigDict(frozen=True)

    written_at: float
    started_at: float
    version: str
    probe_id: str
    school_id: str
    config_hash: str
    config_version: str | None          # the collector's configuration applied, if any
    config_error: str | None            # why the latest served configuration was not applied
    clock_offset_seconds: float | None
    clock_source: str                   # 'collector-date', 'ntp' or 'unknown'
    ntp_synchronised: bool | None
    data_used_bytes: int                # today (Asia/Almaty)
    data_budget_bytes: int
    uploaded: dict[str, int]            # records by acknowledgement status
    upload_failures: dict[str, int]     # failed attempts by reason
    last_upload_at: float | None
    last: list[LastResult]
    # Fleet updates (defaults: a snapshot of an agent without them still reads).
    previous_version: str | None = None     # the version the launcher would return to
    on_trial: bool = False                  # this version has not yet proven itself (uploaded and measured)
    agent_starts: int = 0                   # starts of the agent on this state directory, ever
    config_group: str | None = None         # the fleet group whose configuration applies
    fleet_refusal: str | None = None        # the latest refused fleet update: reason and detail


def write_status(outbox: Outbox, status: AgentStatus) -> None:
    """Store the snapshot in the outbox's state."""
    outbox.put(STATUS_KEY, status.model_dump(mode="json"))


def read_status(outbox: Outbox) -> AgentStatus | None:
    """The latest snapshot, or None when the agent never wrote one; CoreError naming the field if unreadable."""
    stored = outbox.get(STATUS_KEY)
    if stored is None:
        return None
    try:
        return AgentStatus.model_validate(stored)
    except ValidationError as exc:
        raise CoreError(problems_from_pydantic(exc, f"{outbox.path} (agent status)")) from None
