"""The Locust side: command-line options, the open-model user, and the hooks every MektepNet locustfile loads.

Import this only inside a Locust process (locust monkey-patches the interpreter with gevent). Each
process builds its share of the plan's students (number % workers == worker index) when its first
user starts; the users are a pool that sends whichever student is due. The master (or a local
runner) serves the Prometheus metrics, watches the stop bounds and writes the run's summary.
"""

from __future__ import annotations

import argparse
import logging
import sys

from locust import User, events, task
from locust.exception import StopUser
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from core.errors import CoreError
from loadtests import exporter, watch
from loadtests.openmodel import ArrivalSchedule
from loadtests.plan import Plan
from loadtests.profile import PlatformKind, load_profile
from loadtests.safety import approved_targets
from loadtests.shapes import group_sizes, registry_split, shape

log = logging.getLogger("mektepnet.loadtest")
_SCHEDULES: dict[int, ArrivalSchedule] = {}
_SETUP: dict[int, tuple[Plan, list[str]]] = {}


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    group = parser.add_argument_group("MektepNet open model")
    group.add_argument("--mektep-profile", default="", help="Platform profile YAML (default: the embedded local one)")
    group.add_argument("--mektep-shape", default="steady", help="Traffic shape: first-bell, second-shift, quarter-end, "
                                                                "new-platform, steady")
    group.add_argument("--mektep-students", type=int, default=1000, help="Students in the run")
    group.add_argument("--mektep-group-sizes", default="", help="Students per group of the shape, comma-separated "
                                                                "(overrides --mektep-students; set by mektepnet loadtest)")
    group.add_argument("--mektep-duration", type=float, default=0.0, help="Seconds the shape is laid on "
                                                                          "(default: --run-time, else 600)")
    group.add_argument("--mektep-ramp", type=float, default=-1.0, help="Arrival ramp of the steady shape, seconds")
    group.add_argument("--mektep-kinds", default="", help="Only these platform kinds, comma-separated")
    group.add_argument("--mektep-confirm-target", action="append", default=[], help="Confirm a non-loopback host")
    group.add_argument("--mektep-metrics-port", type=int, default=0, help="Serve Prometheus metrics here (master)")
    group.add_argument("--mektep-metrics-host", default="127.0.0.1", help="Address of the metrics listener")
    group.add_argument("--mektep-summary", default="", help="Write the run's JSON summary here at the end")
    group.add_argument("--mektep-seed", type=int, default=1, help="Random seed of the pauses")
    # Set by the master when a test starts (workers receive it with the spawn message); not for the command line.
    group.add_argument("--mektep-worker-count", type=int, default=0, help=argparse.SUPPRESS)


def _plan(environment: Environment, kinds: frozenset[PlatformKind] | None) -> tuple[Plan, list[str]]:
    options = environment.parsed_options
    profile = load_profile(options.mektep_profile or None)
    targets = approved_targets(profile, options.mektep_confirm_target, environment.host or None)
    chosen = shape(options.mektep_shape)
    if options.mektep_group_sizes:
        sizes = tuple(int(size) for size in options.mektep_group_sizes.split(","))
    elif len(chosen.groups) == 1:
        sizes = (options.mektep_students,)
    else:
        from core.synthetic import generate_registry

        sizes = tuple(group_sizes(chosen, registry_split(generate_registry(7500, 1), 1.0), options.mektep_students)
                      .values())
    if options.mektep_kinds:
        kinds = frozenset(PlatformKind(kind) for kind in options.mektep_kinds.split(","))
    duration = options.mektep_duration or (options.run_time or 600)
    plan = Plan(profile, chosen, sizes, float(duration), options.mektep_ramp if options.mektep_ramp >= 0 else None,
                kinds)
    return plan, targets


def _kinds_of(environment: Environment) -> frozenset[PlatformKind] | None:
    return next((frozenset(c.kinds) for c in environment.user_classes if getattr(c, "kinds", None)), None)


@events.init.add_listener
def _check(environment: Environment, **_) -> None:
    """Refuse a target outside the allow-list before any user exists: a refused target receives nothing."""
    if environment.parsed_options is None:
        return
    try:
        plan, targets = _plan(environment, _kinds_of(environment))
        if not isinstance(environment.runner, WorkerRunner):
            plan.check_limits()
            options = environment.parsed_options
            # A run always ends: plain Locust without -t stops at the plan's duration; workers get the duration
            # the master laid the shape on (Locust does not send them --run-time).
            if not options.run_time or options.run_time > plan.profile.limits.max_duration_seconds:
                options.run_time = int(plan.duration_seconds)
            options.mektep_duration = plan.duration_seconds
        _SETUP[id(environment)] = plan, targets
    except (CoreError, ValueError) as exc:
        for problem in getattr(exc, "problems", [exc]):
            log.error("refused: %s", problem)
            print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    if not isinstance(environment.runner, WorkerRunner):
        exporter.install(environment, _SCHEDULES)
        watch.install(environment, _SETUP[id(environment)][0], _SCHEDULES)
    if isinstance(environment.runner, MasterRunner):
        environment.events.test_start.add_listener(lambda **_: _count_workers(environment))


def _count_workers(environment: Environment) -> None:
    """Tell the workers how many share the students (sent with the spawn message that follows test_start)."""
    environment.parsed_options.mektep_worker_count = environment.runner.worker_count


@events.report_to_master.add_listener
def _report(client_id: str, data: dict) -> None:
    for schedule in _SCHEDULES.values():
        data["mektepnet"] = schedule.tally.as_dict()


@events.test_stop.add_listener
def _stop(environment: Environment, **_) -> None:
    schedule = _SCHEDULES.get(id(environment))
    if schedule is not None:
        schedule.stop()  # kept for the summary; a new test (the web UI's Start) builds a new schedule


def schedule_for(environment: Environment) -> ArrivalSchedule:
    """This process's schedule, built from the plan when the first user asks."""
    schedule = _SCHEDULES.get(id(environment))
    if schedule is None or schedule.stopped:
        # A worker's options are the master's by now (Locust copies custom options into the spawn message).
        try:
            plan, targets = _plan(environment, _kinds_of(environment))
        except (CoreError, ValueError) as exc:
            # The master's options do not work here (its profile file is missing on this machine ...): stop.
            log.error("cannot build this worker's share of the plan: %s", exc)
            environment.runner.quit()
            raise StopUser() from None
        options = environment.parsed_options
        runner = environment.runner
        index = runner.worker_index if isinstance(runner, WorkerRunner) else 0
        workers = max(1, options.mektep_worker_count) if isinstance(runner, WorkerRunner) else 1
        if index >= workers:
            log.error("worker index %d joined after the students were shared among %d workers: it sends nothing",
                      index, workers)
            raise StopUser()
        cap = plan.profile.limits.max_requests_per_second / workers
        schedule = ArrivalSchedule(plan, targets, index, workers, rate_cap=cap, seed=options.mektep_seed)
        _SCHEDULES[id(environment)] = schedule
        log.info("worker %d of %d: %d students", index, workers, schedule.tally.students)
    return schedule


class OpenModelUser(User):
    """One of a process's pool of senders: it takes whichever student is due next and sends their request."""

    abstract = True
    kinds: frozenset[PlatformKind] | None = None

    @task
    def serve(self) -> None:
        """Send due students' requests until the run stops."""
        schedule = schedule_for(self.environment)
        fire = self.environment.events.request.fire
        while True:
            student = schedule.take()
            try:
                schedule.execute(student, fire)
            except Exception:  # a bug must cost one student's session, not the sender
                log.exception("student %d: unexpected error; the session ends", student.number)
                schedule.abandon(student)


def is_master(environment: Environment) -> bool:
    """True in the process that merges the stats (master or a local runner)."""
    return isinstance(environment.runner, MasterRunner) or not isinstance(environment.runner, WorkerRunner)
