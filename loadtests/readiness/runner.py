"""A readiness run from end to end: check everything before any traffic, serve the simulator, search, conclude.

`prepare` refuses bad input (unknown platform, a target outside the allow-list, a budget too short
for one step, a start above the caps) with a CoreError naming the option; `find_readiness` then
runs the steps against the profile's target (the platform simulator is started there when it is
loopback and nothing listens) and returns the Readiness. Rates in requests/s, times in seconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from core.errors import CoreError
from core.registry import Registry
from loadtests.capacityplan import demands
from loadtests.document import students_per_group
from loadtests.plan import Plan
from loadtests.launch import listening
from loadtests.profile import Profile, load_profile
from loadtests.readiness.finder import FinderSettings, max_rps, search_steps, with_hold
from loadtests.readiness.result import Readiness, StepResult
from loadtests.readiness.steps import StepContext, generator_bounds, step_plan
from loadtests.readiness.verdict import readiness_fields
from loadtests.safety import approved_targets, is_loopback
from loadtests.serving import SimulatorConfig, SimulatorHandle, start_simulator
from loadtests.shapes import shape
from loadtests.slo import Slo


@dataclass(frozen=True)
class Request:
    """What `mektepnet loadtest readiness` was asked."""

    platform: str
    slo: Slo
    profile: Path | None = None
    run_dir: Path = Path("readiness-run")
    seed: int = 1
    workers: int = 0
    users_per_worker: int | None = None
    target: str | None = None
    confirm_targets: tuple[str, ...] = ()


@dataclass(frozen=True)
class Prepared:
    """A checked readiness run: the steps' context, the highest rate the caps allow, the national peak to compare."""

    request: Request
    settings: FinderSettings
    full_profile: Profile
    context: StepContext
    ceiling_rps: float
    first_bell_peak_rps: float


def first_bell_peak(profile: Profile, platform: str, registry: Registry) -> float:
    """The platform's demand at the country's first bell (the registry at scale 1), requests/s."""
    chosen = shape("first-bell")
    sizes, _ = students_per_group(chosen, registry, None, 1.0)
    found = demands(Plan(profile, chosen, sizes, 5400.0))
    return found[platform].peak_rps if platform in found else 0.0


def prepare(request: Request, settings: FinderSettings, registry: Registry) -> Prepared:
    """Check the request before any traffic; CoreError naming the option otherwise."""
    profile = load_profile(request.profile)
    if request.platform not in profile.platforms:
        raise CoreError.one("command line", "--platform", request.platform,
                            f"profile {profile.name!r} has no such platform; known: {', '.join(profile.platforms)}")
    try:
        targets = approved_targets(profile, list(request.confirm_targets), request.target)
    except CoreError as exc:
        if request.target is None:
            raise
        raise CoreError.one("command line", "--host", request.target, exc.problems[0].message) from None
    platform = profile.platforms[request.platform]
    alone = profile.model_copy(update={"platforms": {request.platform: platform}})
    context = StepContext(alone, tuple(targets), tuple(request.confirm_targets), request.slo, step_plan(platform, 0.0),
                          generator_bounds(request.slo), request.run_dir, request.seed, request.workers,
                          request.users_per_worker)
    context = with_hold(context, settings)
    ceiling = max_rps(context)
    for option, rate in (("--start-rps", settings.start_rps), ("--lowest-rps", settings.lowest_rps)):
        if rate is not None and not 0 < rate <= ceiling:
            raise CoreError.one("command line", option, rate,
                                f"must be above 0 and at most {ceiling:,.1f} requests/s (the profile's caps)")
    return Prepared(request, settings, profile, context, ceiling, first_bell_peak(profile, request.platform, registry))


def _simulator(prepared: Prepared) -> SimulatorHandle | None:
    """The platform simulator on the (loopback) target where nothing listens yet."""
    parts = urlsplit(prepared.context.targets[0])
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    if not is_loopback(host) or listening(host, port):
        return None
    prepared.request.run_dir.mkdir(parents=True, exist_ok=True)
    return start_simulator(SimulatorConfig(prepared.context.profile, host, port, seed=prepared.request.seed),
                           prepared.request.run_dir / "simulator.log")


def find_readiness(prepared: Prepared, on_step: Callable[[StepResult], None] = lambda step: None) -> Readiness:
    """Run the search and conclude; every process it started has ended on return."""
    simulator = _simulator(prepared)
    try:
        search, elapsed = search_steps(prepared.context, prepared.settings, prepared.ceiling_rps, on_step)
    finally:
        if simulator is not None:
            simulator.stop()
    fields = readiness_fields(search, prepared.ceiling_rps)
    timing = prepared.context.timing
    platform = prepared.context.profile.platforms[prepared.request.platform]
    rate = fields["requests_per_second"]
    per_session = timing.cycle_seconds * timing.requests_per_student_second
    peak = prepared.first_bell_peak_rps
    return Readiness(platform=prepared.request.platform, kind=platform.kind.value, profile=prepared.full_profile.name,
                     slo=str(prepared.request.slo), sessions_per_second=rate / per_session,
                     students_in_session=rate / timing.requests_per_student_second,
                     session_seconds=max(0.0, timing.cycle_seconds - platform.think_seconds),
                     think_seconds=platform.think_seconds, first_bell_peak_rps=peak,
                     share_of_first_bell_peak=rate / peak if peak else 0.0, max_rps=prepared.ceiling_rps,
                     budget_seconds=prepared.settings.budget_seconds, elapsed_seconds=elapsed,
                     seed=prepared.request.seed, **fields)
