"""`mektepnet norms`: show the shipped or a given norms policy, and check measurements against policies."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from cli.common import console, parse_day, refuses_bad_input
from core.errors import CoreError
from core.measurement import read_measurements
from core.norms import SHIPPED_POLICIES, Policy, load_policy
from core.registry import load_registry
from core.school_calendar import SchoolCalendar
from core.timezone import to_local
from core.units import format_bit_rate, format_duration
from core.verdict import NormResult, Period, Status, Verdict, evaluate

app = typer.Typer(no_args_is_help=True, help="Norms policies and compliance verdicts.")

_POLICY_HELP = f"A shipped policy ({', '.join(SHIPPED_POLICIES)}) or a policy YAML file; repeat for several."


@app.command()
@refuses_bad_input
def show(policies: list[str] = typer.Argument(None, help=_POLICY_HELP)) -> None:
    """Print each policy's thresholds per school category and its verdict rules.

    Example: mektepnet norms show ministry equal-norms
    """
    for name in policies or SHIPPED_POLICIES:
        policy = load_policy(name)
        table = Table(title=f"{policy.name}: {policy.title}", caption=policy.description)
        table.add_column("norm")
        for category in ("urban", "rural", "ungraded"):
            table.add_column(category, justify="right")
        for field, label, formatter in _THRESHOLDS:
            cells = [getattr(getattr(policy, c), field) for c in ("urban", "rural", "ungraded")]
            table.add_row(label, *("-" if v is None else formatter(v) for v in cells))
        if policy.per_student:
            rule = policy.per_student
            table.add_row(f"download per student ({rule.basis.value}, > {rule.above_students} students)",
                          *[f">= {format_bit_rate(rule.min_bps)}"] * 3)
        console.print(table)
        rules = policy.verdict
        console.print(f"  statistics: download {rules.download}, upload {rules.upload}, rtt {rules.rtt}, "
                      f"jitter {rules.jitter}, loss {rules.loss}; minimum samples: throughput "
                      f"{rules.min_throughput_samples}, latency {rules.min_latency_samples}; probes merged: "
                      f"{rules.merge_probes}; clock offset bound: {rules.max_clock_offset_seconds:g} s\n")


def _percent(ratio: float) -> str:
    return f"{ratio * 100:g} %"


_THRESHOLDS = (
    ("download_min_bps", "download", lambda v: f">= {format_bit_rate(v)}"),
    ("upload_min_bps", "upload", lambda v: f">= {format_bit_rate(v)}"),
    ("rtt_max_seconds", "rtt", lambda v: f"<= {format_duration(v)}"),
    ("jitter_max_seconds", "jitter", lambda v: f"<= {format_duration(v)}"),
    ("loss_max_ratio", "loss", lambda v: f"<= {_percent(v)}"),
    ("availability_min_ratio", "availability", lambda v: f">= {_percent(v)}"),
)


@app.command()
@refuses_bad_input
def check(
    measurements: Path = typer.Option(..., "--measurements", help="Measurements, JSON Lines."),
    registry: Path = typer.Option(..., "--registry", help="School registry (.csv or .parquet)."),
    policies: list[str] = typer.Option(None, "--policy", help=_POLICY_HELP + " Default: every shipped one."),
    first: str = typer.Option(None, "--from", help="First local date (Asia/Almaty). Default: earliest measured."),
    last: str = typer.Option(None, "--to", help="Last local date (Asia/Almaty). Default: latest measured."),
    calendar: Path = typer.Option(None, "--calendar", help="School calendar YAML. Default: the shipped one."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON verdicts instead of tables."),
) -> None:
    """Evaluate the measured schools against each policy: meets / below / no data, with every breach.

    Example: mektepnet norms check --registry registry.csv --measurements week.jsonl --policy ministry
    """
    schools = load_registry(registry)
    records = read_measurements(measurements)
    unknown = sorted({m.school_id for m in records} - {s.school_id for s in schools})
    if unknown:
        raise CoreError.one(measurements, "school_id", unknown[0],
                            f"not in the registry {registry} ({len(unknown)} unknown school ids)")
    if not records:
        raise CoreError.one(measurements, "(records)", None, "the file holds no measurements")
    dates = sorted(to_local(m.start).date() for m in records)
    period = Period(parse_day(first, "--from") or dates[0], parse_day(last, "--to") or dates[-1])
    school_calendar = SchoolCalendar.load(calendar)
    measured = sorted({m.school_id for m in records})
    verdicts = [evaluate(schools[school_id], records, policy, school_calendar, period)
                for policy in _policies(policies) for school_id in measured]
    if as_json:
        console.print_json(json.dumps([_verdict_json(v) for v in verdicts]))
        return
    _print_verdicts(verdicts, schools, period)


def _policies(names: list[str] | None) -> list[Policy]:
    return [load_policy(name) for name in (names or SHIPPED_POLICIES)]


_STYLE = {Status.MEETS: "green", Status.BELOW: "red", Status.NO_DATA: "yellow"}


def _print_verdicts(verdicts: list[Verdict], schools, period: Period) -> None:
    table = Table(title=f"Verdicts over {period} (school hours, Asia/Almaty)")
    table.add_column("policy")
    table.add_column("school")
    table.add_column("category")
    table.add_column("verdict")
    table.add_column("breaches and missing data")
    for verdict in verdicts:
        notes = [_describe(r) for r in verdict.results if r.status is not Status.MEETS]
        table.add_row(verdict.policy, verdict.school_id, schools[verdict.school_id].category.value,
                      f"[{_STYLE[verdict.status]}]{verdict.status.value}[/]", "\n".join(notes) or "-")
    console.print(table)
    for policy in dict.fromkeys(v.policy for v in verdicts):
        counts = {status: sum(1 for v in verdicts if v.policy == policy and v.status is status) for status in Status}
        console.print(f"{policy}: " + ", ".join(f"{counts[s]} {s.value}" for s in Status))


def _describe(result: NormResult) -> str:
    sign = ">=" if result.at_least else "<="
    if result.value is None:
        return f"{result.norm}: no data ({result.samples} samples)"
    return (f"{result.norm}: {result.statistic} {_format(result.value, result.unit)}, needs {sign} "
            f"{_format(result.threshold, result.unit)} ({result.samples} samples)")


def _format(value: float, unit: str) -> str:
    if unit == "bit/s":
        return format_bit_rate(value)
    if unit == "s":
        return format_duration(value)
    return _percent(value)


def _verdict_json(verdict: Verdict) -> dict:
    return {
        "school_id": verdict.school_id,
        "policy": verdict.policy,
        "period": {"first": verdict.period.first.isoformat(), "last": verdict.period.last.isoformat()},
        "status": verdict.status.value,
        "results": [{
            "norm": r.norm, "statistic": r.statistic, "value": r.value, "threshold": r.threshold,
            "comparison": ">=" if r.at_least else "<=", "unit": r.unit, "samples": r.samples,
            "status": r.status.value, "series": r.series, "left_out_samples": r.left_out,
        } for r in verdict.results],
    }
