"""The fleet index: the signed document (TUF target `fleet.json`) that says which agent version and which
probe configuration each probe should run, and the deterministic cohort rule of a staged rollout.

The centre writes it (collectors/fleet), probes read it (probes/update.py); both decide a probe's
share the same way, from a hash of its probe id, so the centre knows who was updated without asking.
"""

from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.school import SchoolId

INDEX_TARGET = "fleet.json"
BUCKETS = 10_000                    # a share is set in steps of 0.01 %
DEFAULT_GROUP = "default"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Track(_Frozen):
    """One thing being released: the stable reference every probe runs, and a candidate for a cohort.

    A reference is an agent version (agent track) or a configuration target path (configuration track).
    The cohort is the probes whose school is in `schools` (None: every school) and whose bucket is under
    `share_percent`; a stopped rollout sends everybody back to `stable`.
    """

    stable: str | None = None
    candidate: str | None = None
    share_percent: float = Field(default=0.0, ge=0, le=100)
    schools: tuple[SchoolId, ...] | None = None
    state: Literal["idle", "rolling", "stopped"] = "idle"
    stopped_because: str | None = None

    def reference_for(self, probe_id: str, school_id: str) -> str | None:
        """What this probe should run now: the candidate inside the cohort of a rolling release, else stable."""
        if self.state == "rolling" and self.candidate is not None and in_cohort(self, probe_id, school_id):
            return self.candidate
        return self.stable


class Group(_Frozen):
    """A configuration group: `default`, `region=ALM`, `locality=rural` or `schools=<pilot>`, with the
    schools it covers resolved at publish time (None for the default group: every school)."""

    name: str
    schools: tuple[SchoolId, ...] | None = None
    track: Track = Track()


class FleetIndex(_Frozen):
    """The whole signed index: the agent track and the configuration groups."""

    agent: Track = Track()
    wheels: dict[str, str] = {}          # agent version -> its wheel's target path
    groups: tuple[Group, ...] = ()

    def group_for(self, school_id: str) -> Group | None:
        """The most specific group of a school: a list of schools, then locality, then region, then default."""
        order = ("schools=", "locality=", "region=", DEFAULT_GROUP)
        for prefix in order:
            for group in self.groups:
                if group.name.startswith(prefix) and (group.schools is None or school_id in group.schools):
                    return group
        return None

    def with_group(self, group: Group) -> FleetIndex:
        """A copy with `group` added or replacing the one of its name."""
        kept = tuple(existing for existing in self.groups if existing.name != group.name)
        return self.model_copy(update={"groups": (*kept, group)})


def bucket(probe_id: str) -> int:
    """The probe's fixed place in 0..BUCKETS-1: the first 8 hex digits of SHA-256 of its id."""
    return int(hashlib.sha256(probe_id.encode()).hexdigest()[:8], 16) % BUCKETS


def in_cohort(track: Track, probe_id: str, school_id: str) -> bool:
    """True if the probe belongs to the track's rollout cohort (its school selected, its bucket under the share)."""
    if track.schools is not None and school_id not in track.schools:
        return False
    return bucket(probe_id) < round(track.share_percent * BUCKETS / 100)
