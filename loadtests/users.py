"""The Locust side: command-line options, the open-model user, and the hooks every MektepNet locustfile loads.

Import this only inside a Locust process (locust monkey-patches the interpreter with gevent). The plan
is built once: `mektepnet loadtest run` writes it as a plan document (`--mektep-plan plan.json`), or,
with plain Locust, the master builds it from the `--mektep-*` options. The master hands the document's
text to every worker, local or remote, with the spawn message; each process takes its share of the
students (number % workers == worker index) when its first user starts. The users are a pool that
sends whichever student is due. The master (or a local runner) serves the Prometheus metrics, watches
the stop bounds and writes the run's summary.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from locust import User, events, task
from locust.env import Environment
from locust.exception import StopUser
from locust.runners import MasterRunner, WorkerRunner

from core.errors import CoreError
from loadtests import exporter, watch
from loadtests.document import PlanDocument, load_plan_document, plan_document, read_plan_document, students_per_group
from loadtests.openmodel import ArrivalSchedule
from loadtests.profile import PlatformKind, load_profile
from loadtests.safety import approved_targets
from loadtests.shapes import shape

log = logging.getLogger("mektepnet.loadtest")
_SCHEDULES: dict[int, ArrivalSchedule] = {}
# The plan document's JSON travels to the workers in this attribute of the parsed options (no command-line flag).
DOCUMENT_OPTION = "mektep_plan_document"


@events.init_command_line_parser.add_listener
def _options(parser) -> None:
    group = parser.add_argument_group("MektepNet open model")
    group.add_argument("--mektep-plan", default="", help="Plan document (JSON) written by mektepnet loadtest; "
                                                         "overrides the plan options below")
    group.add_argument("--mektep-profile", default="", help="Platform profile YAML (default: the embedded local one)")
    group.add_argument("--mektep-shape", default="steady", help="Traffic shape: first-bell, second-shift, quarter-end, "
                                                                "new-platform, steady")
    group.add_argument("--mektep-students", type=int, default=1000, help="Students in the run")
    group.add_argument("--mektep-duration", type=float, default=0.0, help="Seconds the shape is laid on "
                                                                          "(default: --run-time, else 600)")
    group.add_argument("--mektep-ramp", type=float, default=-1.0, help="Arrival ramp of the steady shape, seconds")
    group.add_argument("--mektep-kinds", default="", help="Only these platform kinds, comma-separated")
    group.add_argument("--mektep-confirm-target", action="append", default=[], help="Confirm a non-loopback host")
    group.add_argument("--mektep-seed", type=int, default=1, help="Random seed of the pauses")
    group.add_argument("--mektep-metrics-port", type=int, default=0, help="Serve Prometheus metrics here (master)")
    group.add_argument("--mektep-metrics-host", default="127.0.0.1", help="Address of the metrics listener")
    group.add_argument("--mektep-summary", default="", help="Write the run's JSON summary here at the end")
    # Set by the master when a test starts (workers receive it with the spawn message); not for the command line.
    group.add_argument("--mektep-worker-count", type=int, default=0, help=argparse.SUPPRESS)


def _kinds_of(environment: Environment) -> frozenset[PlatformKind] | None:
    return next((frozenset(c.kinds) for c in environment.user_classes if getattr(c, "kinds", None)), None)


def _document_from_options(environment: Environment) -> PlanDocument:
    """The plan from plain Locust's --mektep-* options (built once, in the master or the local runner)."""
    options = environment.parsed_options
    if options.mektep_plan:
        document = read_plan_document(Path(options.mektep_plan))
        document.plan().check_limits()
        return document
    profile = load_profile(options.mektep_profile or None)
    targets = approved_targets(profile, options.mektep_confirm_target, environment.host or None)
    chosen = shape(options.mektep_shape)
    if len(chosen.groups) == 1:
        sizes, regions = (options.mektep_students,), {}
    else:
        from core.synthetic import generate_registry

        sizes, regions = students_per_group(chosen, generate_registry(7500, 1), options.mektep_students, 1.0)
    kinds = _kinds_of(environment)
    if options.mektep_kinds:
        kinds = frozenset(PlatformKind(kind) for kind in options.mektep_kinds.split(","))
    return plan_document(profile=profile, shape=chosen.name, group_sizes=sizes,
                         duration_seconds=float(options.mektep_duration or (options.run_time or 600)),
                         ramp_seconds=options.mektep_ramp if options.mektep_ramp >= 0 else None, kinds=kinds,
                         regions=regions, confirmed_hosts=tuple(options.mektep_confirm_target), targets=targets,
                         seed=options.mektep_seed)


@events.init.add_listener
def _check(environment: Environment, **_) -> None:
    """Build the plan once in the master (or local runner), refusing a target outside the allow-list before any user exists."""
    if environment.parsed_options is None or isinstance(environment.runner, WorkerRunner):
        return  # a worker's plan comes from the master with the spawn message
    options = environment.parsed_options
    try:
        document = _document_from_options(environment)
    except (CoreError, ValueError) as exc:
        for problem in getattr(exc, "problems", [exc]):
            log.error("refused: %s", problem)
            print(f"error: {problem}", file=sys.stderr)
        sys.exit(2)
    # A run always ends: plain Locust without -t stops at the plan's duration.
    if not options.run_time or options.run_time > document.profile.limits.max_duration_seconds:
        options.run_time = int(document.duration_seconds)
    setattr(options, DOCUMENT_OPTION, document.model_dump_json())
    exporter.install(environment, _SCHEDULES)
    watch.install(environment, document.plan(), _SCHEDULES, document.step)
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
    """This process's schedule, built from the plan document when the first user asks."""
    schedule = _SCHEDULES.get(id(environment))
    if schedule is None or schedule.stopped:
        options = environment.parsed_options
        runner = environment.runner
        try:
            # A worker's options are the master's by now (Locust copies them into the spawn message).
            text = getattr(options, DOCUMENT_OPTION, None)
            if not text:
                raise CoreError.one("master", DOCUMENT_OPTION, None, "the master sent no plan document")
            document = load_plan_document(text, "the master's plan document")
            plan = document.plan()
        except (CoreError, ValueError) as exc:
            log.error("cannot build this process's share of the plan: %s", exc)
            runner.quit()
            raise StopUser() from None
        index = runner.worker_index if isinstance(runner, WorkerRunner) else 0
        workers = max(1, options.mektep_worker_count) if isinstance(runner, WorkerRunner) else 1
        if index >= workers:
            log.error("worker index %d joined after the students were shared among %d workers: it sends nothing",
                      index, workers)
            raise StopUser()
        cap = plan.profile.limits.max_requests_per_second / workers
        schedule = ArrivalSchedule(plan, list(document.targets), index, workers, rate_cap=cap, seed=document.seed)
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
