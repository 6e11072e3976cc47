"""Staged rollouts: a candidate goes to a deterministic share of probes, widens on a schedule, and stops by
itself when the updated cohort's health is worse than the rest's by more than a stated margin.

Health is read from each school's latest records in the window since the stage began (after a grace
period): a probe is unhealthy if it sent nothing (silence) or, on the agent track, its newest record is
not from the candidate (it failed to start and rolled itself back); probes that restart in a loop or
fail to upload count apart (figures every record carries); the error ratio is over the latest records.
`mektepnet fleet advance` (a systemd timer) runs `advance`; every change is a new signed index.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict, dataclass

from collectors.fleet.releases import track_of, with_track
from collectors.fleet.repository import FleetRepository
from collectors.store import Store
from core.errors import CoreError
from core.fleet import Track, in_cohort


@dataclass(frozen=True)
class Plan:
    """Stages (percent of the selected probes), time between stages, the stop margin (ratio 0-1), grace (s)."""

    stages_percent: tuple[float, ...] = (5.0, 25.0, 100.0)
    every_seconds: float = 86_400.0
    margin_ratio: float = 0.1
    grace_seconds: float = 1_800.0

    def __post_init__(self) -> None:
        for share in self.stages_percent:
            if not 0 < share <= 100:
                raise CoreError.one("", "--stages", share, "a rollout share must be above 0 and at most 100 %")
        if list(self.stages_percent) != sorted(self.stages_percent) or not self.stages_percent:
            raise CoreError.one("", "--stages", ",".join(map(str, self.stages_percent)), "must be increasing")
        if not 0 <= self.margin_ratio <= 1:
            raise CoreError.one("", "--margin", self.margin_ratio, "must be a ratio 0 to 1")


CRASH_LOOP_STARTS = 3          # agent starts within a day (record attribute starts_last_day) that make a crash loop
UPLOAD_TROUBLE_FAILURES = 3    # failed uploads within an hour (attribute upload_failures_last_hour) that count


@dataclass(frozen=True)
class Health:
    """A group of probes over a window: how many, how many unhealthy (silent or not updated), crash looping or
    failing to upload, and the latest records in the window and how many of them failed."""

    probes: int = 0
    unhealthy: int = 0
    crash_looping: int = 0
    upload_troubled: int = 0
    records: int = 0
    errors: int = 0

    def ratio(self, count: int) -> float:
        """`count` probes over the group's probes (0-1)."""
        return count / self.probes if self.probes else 0.0

    @property
    def unhealthy_ratio(self) -> float:
        """Unhealthy probes over probes (0-1)."""
        return self.ratio(self.unhealthy)

    @property
    def error_ratio(self) -> float:
        """Records with an error over records (0-1)."""
        return self.errors / self.records if self.records else 0.0


def _count(record, name: str) -> int:
    text = record.attributes.get(name, "")
    return int(text) if text.isdigit() else 0


def compare(store: Store, track: Track, version_required: str | None, start_ts: float, end_ts: float
            ) -> tuple[Health, Health]:
    """(cohort, rest) health over [start_ts, end_ts): probes enrolled and not revoked, split by the cohort rule.

    It reads only each school's latest record of each kind (the rows a scrape reads, ~45,000 for 7,500
    schools), never the window's raw results: a probe is silent without one in the window, not updated
    when its newest is not from the candidate, crash looping or failing to upload by the figures its newest
    record carries; the error ratio is over the latest records in the window."""
    latest: dict[str, list] = defaultdict(list)
    for record in store.latest().values():
        if start_ts <= record.end.timestamp() < end_ts:
            latest[record.probe_id].append(record)
    tally = {True: [0] * 6, False: [0] * 6}
    for probe in store.probes():
        if probe.revoked_at is not None or (track.schools is not None and probe.school_id not in track.schools):
            continue
        chosen = in_cohort(track, probe.probe_id, probe.school_id)
        own = latest.get(probe.probe_id, [])
        newest = max(own, key=lambda record: record.end, default=None)
        updated = not chosen or version_required is None or (newest is not None and newest.probe_version
                                                               == version_required)
        counts = tally[chosen]
        counts[0] += 1
        counts[1] += int(newest is None or not updated)
        counts[2] += int(newest is not None and _count(newest, "starts_last_day") >= CRASH_LOOP_STARTS)
        counts[3] += int(newest is not None and _count(newest, "upload_failures_last_hour") >= UPLOAD_TROUBLE_FAILURES)
        counts[4] += len(own)
        counts[5] += sum(1 for record in own if record.error)
    return Health(*tally[True]), Health(*tally[False])


def start(repository: FleetRepository, name: str, plan: Plan, schools: tuple[str, ...] | None = None,
          now: float | None = None) -> Track:
    """Start rolling the track's candidate out to the first stage; the schedule is kept for `advance`."""
    index = repository.index()
    track = track_of(index, name)
    if track.candidate is None:
        raise CoreError.one("", "--track", name, "has no candidate to roll out (publish one first)")
    rolling = track.model_copy(update={"share_percent": plan.stages_percent[0], "schools": schools,
                                       "state": "rolling", "stopped_because": None})
    repository.publish(with_track(index, name, rolling))
    rollouts = repository.rollouts()
    rollouts[name] = {"plan": asdict(plan), "stage": 0, "stage_started_at": time.time() if now is None else now}
    repository.save_rollouts(rollouts)
    return rolling


def advance(repository: FleetRepository, store: Store, now: float | None = None) -> dict[str, str]:
    """Judge every rolling track: stop it, widen it, complete it, or leave it; returns what happened per track."""
    now = time.time() if now is None else now
    rollouts, outcome = repository.rollouts(), {}
    index = repository.index()
    for name, schedule in sorted(rollouts.items()):
        track = track_of(index, name)
        if track.state != "rolling":
            continue
        plan = Plan(**{**schedule["plan"], "stages_percent": tuple(schedule["plan"]["stages_percent"])})
        began = schedule["stage_started_at"] + plan.grace_seconds
        if now <= began:
            outcome[name] = "in grace"
            continue
        cohort, rest = compare(store, track, track.candidate if name == "agent" else None, began, now)
        worse = _worse(cohort, rest, plan.margin_ratio)
        if worse:
            track = track.model_copy(update={"state": "stopped", "stopped_because": worse})
            outcome[name] = f"stopped: {worse}"
        elif now - schedule["stage_started_at"] < plan.every_seconds:
            outcome[name] = f"healthy at {track.share_percent:g} %"
            continue
        elif schedule["stage"] + 1 < len(plan.stages_percent):
            schedule.update(stage=schedule["stage"] + 1, stage_started_at=now)
            track = track.model_copy(update={"share_percent": plan.stages_percent[schedule["stage"]]})
            outcome[name] = f"widened to {track.share_percent:g} %"
        else:
            track = Track(stable=track.candidate)
            outcome[name] = f"complete: {track.stable} is stable"
        index = with_track(index, name, track)
    if any(not text.startswith(("in grace", "healthy")) for text in outcome.values()):
        repository.publish(index)
    repository.save_rollouts({name: schedule for name, schedule in rollouts.items()
                              if track_of(index, name).state == "rolling"})
    return outcome


def _worse(cohort: Health, rest: Health, margin_ratio: float) -> str | None:
    if cohort.probes == 0:
        return None
    if cohort.unhealthy_ratio - rest.unhealthy_ratio > margin_ratio:
        return (f"updated probes silent or not running the candidate: {cohort.unhealthy_ratio:.0%} against "
                f"{rest.unhealthy_ratio:.0%} of the rest (margin {margin_ratio:.0%})")
    for count, what in (("crash_looping", f"restarted {CRASH_LOOP_STARTS} times or more within a day"),
                        ("upload_troubled", f"failed {UPLOAD_TROUBLE_FAILURES} uploads or more within an hour")):
        ours, theirs = cohort.ratio(getattr(cohort, count)), rest.ratio(getattr(rest, count))
        if ours - theirs > margin_ratio:
            return (f"updated probes that {what}: {ours:.0%} against {theirs:.0%} of the rest "
                    f"(margin {margin_ratio:.0%})")
    if cohort.error_ratio - rest.error_ratio > margin_ratio:
        return (f"measurement error ratio {cohort.error_ratio:.0%} against {rest.error_ratio:.0%} of the rest "
                f"(margin {margin_ratio:.0%})")
    return None


def rollback(repository: FleetRepository, name: str, to: str | None = None) -> Track:
    """Send every probe of the track back: stop its rollout (the cohort returns to stable), or with `to`,
    make an earlier published reference the stable one."""
    index = repository.index()
    track = track_of(index, name)
    if to is None:
        if track.state != "rolling":
            raise CoreError.one("", "--track", name, "has no rollout running; give --to to go back to a version")
        back = track.model_copy(update={"state": "stopped", "stopped_because": "rolled back by the operator"})
    else:
        known = {info.unrecognized_fields["custom"]["version"]: path
                 for path, info in repository.published("agent/" if name == "agent" else "config/").items()
                 if name == "agent" or info.unrecognized_fields["custom"].get("group") == name}
        if to not in known:
            raise CoreError.one("", "--to", to, f"is not a published version of {name} "
                                                f"(published: {', '.join(sorted(known)) or 'none'})")
        back = Track(stable=to if name == "agent" else known[to])
    repository.publish(with_track(index, name, back))
    rollouts = repository.rollouts()
    rollouts.pop(name, None)
    repository.save_rollouts(rollouts)
    return back
