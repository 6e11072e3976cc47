"""What one synthetic user does in one session on each kind of platform, as data.

A journey is a tuple of steps; a step names a profile endpoint and the pause that follows it. Pauses
are drawn when the step is scheduled, never from the platform's answer, so a slow platform cannot
slow the arrivals down (the open model). Roles (student, parent, teacher) and their weights follow
reference/platforms.md; a traffic shape may re-weight them (the quarter-end grade rush).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from loadtests.profile import PlatformKind, Platform


class Pause(StrEnum):
    """What follows a step: a think time, a quick click, one video segment's play time, the exam's start."""

    THINK = "think"      # exponential, the platform's think_seconds
    QUICK = "quick"      # exponential, the platform's quick_seconds: the next call of the same screen
    SEGMENT = "segment"  # the platform's segment_seconds: a player fetches segments as it plays them
    SYNC = "sync"        # wait for the next synchronised exam start (every exam_every_seconds of run time)
    END = "end"          # the session ends; the connection closes


@dataclass(frozen=True, slots=True)
class Step:
    """One request of a journey and the pause after it."""

    endpoint: str
    pause: Pause


def _steps(*pairs: tuple[str, Pause], repeat: tuple[tuple[str, Pause], ...] = (), times: int = 0,
           tail: tuple[tuple[str, Pause], ...] = ()) -> tuple[Step, ...]:
    listed = [*pairs, *(repeat * times), *tail]
    steps = [Step(endpoint, pause) for endpoint, pause in listed]
    steps[-1] = Step(steps[-1].endpoint, Pause.END)
    return tuple(steps)


T, Q, S = Pause.THINK, Pause.QUICK, Pause.SEGMENT


@dataclass(frozen=True)
class Journey:
    """A named variant of a role's session and its weight among the platform's sessions."""

    role: str
    name: str
    weight: float
    steps: tuple[Step, ...]


def _ediary(quarter_end: bool) -> tuple[Journey, ...]:
    student = (("login", Q), ("context", Q), ("schedule", T), ("recent_marks", T), ("homework", T))
    grades = 12 if quarter_end else 4
    teacher = _steps(("login", Q), ("lessons", T), repeat=(("log_entry", T),), times=grades,
                     tail=(("final_marks", T),) if quarter_end else ())
    student_weight, parent_weight, teacher_weight = (0.3, 0.2, 0.5) if quarter_end else (0.6, 0.3, 0.1)
    return (
        Journey("student", "morning", student_weight * 0.6, _steps(*student)),
        Journey("student", "homework download", student_weight * 0.3, _steps(*student, ("homework_file", T))),
        Journey("student", "homework upload", student_weight * 0.1,
                _steps(*student, ("homework_file", T), ("homework_upload", T))),
        Journey("parent", "child's day", parent_weight,
                _steps(("login", Q), ("children", Q), ("recent_marks", T), ("homework", T))),
        Journey("teacher", "grade entry", teacher_weight, teacher),
    )


def _video() -> tuple[Journey, ...]:
    def watch(minutes: int, weight: float) -> Journey:
        head = (("login", Q), ("catalogue", T), ("lesson", Q), ("manifest", Q))
        return Journey("student", f"{minutes}-minute lesson", weight,
                       _steps(*head, repeat=(("segment", S),), times=minutes * 15))
    return watch(2, 0.3), watch(5, 0.4), watch(10, 0.3)


def _testing() -> tuple[Journey, ...]:
    return (Journey("student", "exam", 1.0, _steps(("login", Q), ("start", Pause.SYNC),
                                                    repeat=(("question", T), ("answer", Q)), times=10,
                                                    tail=(("finish", Q),))),)


def _tutor() -> tuple[Journey, ...]:
    return tuple(Journey("student", f"{turns} chat turns", 1 / 3, _steps(("login", Q), repeat=(("chat", T),), times=turns))
                 for turns in (2, 4, 8))


def _endpoint() -> tuple[Journey, ...]:
    return (Journey("client", "one request", 1.0, _steps(("request", Pause.END))),)


def journeys(kind: PlatformKind, quarter_end: bool = False) -> tuple[Journey, ...]:
    """The journeys of a kind of platform, weighted; `quarter_end` shifts the e-diary to teachers' grade entry."""
    if kind is PlatformKind.EDIARY:
        return _ediary(quarter_end)
    if kind is PlatformKind.VIDEO:
        return _video()
    if kind is PlatformKind.TESTING:
        return _testing()
    if kind is PlatformKind.ENDPOINT:
        return _endpoint()
    return _tutor()


def pause_seconds(step: Step, platform: Platform, rng: random.Random, now_in_run: float) -> float:
    """How long after this step's intended time the next step is intended, in seconds."""
    if step.pause is Pause.THINK:
        return rng.expovariate(1 / platform.think_seconds)
    if step.pause is Pause.QUICK:
        return rng.expovariate(1 / platform.quick_seconds)
    if step.pause is Pause.SEGMENT:
        return platform.segment_seconds
    if step.pause is Pause.SYNC:
        return platform.exam_every_seconds - now_in_run % platform.exam_every_seconds
    return rng.expovariate(1 / platform.think_seconds)


def mean_session(journey: Journey, platform: Platform) -> tuple[int, float]:
    """Requests of one session and its mean length in seconds (the pause after the last step included)."""
    means = {Pause.THINK: platform.think_seconds, Pause.QUICK: platform.quick_seconds,
             Pause.SEGMENT: platform.segment_seconds, Pause.SYNC: platform.exam_every_seconds / 2,
             Pause.END: platform.think_seconds}
    return len(journey.steps), sum(means[step.pause] for step in journey.steps)


def requests_per_student_second(platform: Platform, quarter_end: bool = False) -> float:
    """Mean request rate of one student in session on this platform, in requests per second."""
    # Sessions of a journey are chosen by weight; a long one holds its student longer: weight by length.
    chosen = journeys(platform.kind, quarter_end)
    requests = seconds = 0.0
    for journey in chosen:
        count, length = mean_session(journey, platform)
        requests += journey.weight * count
        seconds += journey.weight * length
    return requests / seconds
