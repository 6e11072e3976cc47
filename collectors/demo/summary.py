"""What index.html shows: the figures of every stage, read back from the files the stages wrote."""

from __future__ import annotations

from pathlib import Path

from collectors.demo.index import Headline, IndexPage, read_json


def fill_page(page: IndexPage, out: Path, outcome, headline: Headline | None) -> None:
    """Add the report's headline, the live probes, the history, the load test, readiness and the queries."""
    if headline is not None:
        section = "The deputies' report (main policy: " + headline.policy + ")"
        page.add(section, "schools in the registry", f"{headline.schools:,}")
        page.add(section, "schools measured in the period", f"{headline.schools_measured:,}")
        page.add(section, "schools meeting / below the norms / no data",
                 f"{headline.meeting:,} / {headline.below:,} / {headline.no_data:,}")
        if headline.students_meeting_percent is not None:
            page.add(section, "students in schools that meet the norms", f"{headline.students_meeting_percent:.1f} %")
        for category, mbps in headline.medians_mbps.items():
            page.add(section, f"median download, {category}", f"{mbps:.1f} Mbit/s")
    else:
        page.notes.append("The report was not written: see logs/report.log.")
    for probe in outcome.live:
        counted = "counted in verdicts" if probe["in_school_hours"] else "outside school hours: stored, not judged"
        page.add("Live probes (real measurements on loopback)", probe["school_id"],
                 f"{sum(probe['records'].values())} results {probe['records']}; {probe['series_in_metrics']} series "
                 f"in /metrics; clock offset {probe['clock_offset_seconds']:+.3f} s; {counted}")
    page.add("Simulated history", "first day", outcome.history_first)
    page.add("Simulated history", "records (raw rows, rolled up and judged per school-day)",
             f"{outcome.history_records:,}")
    summary = read_json(out / "loadtest" / "summary.json")
    if isinstance(summary, dict):
        page.add("First-bell load test", "students / requests / failures",
                 f"{summary['students']:,} / {summary['requests']:,} / {summary['failures']:,}")
        page.add("First-bell load test", "latency p50 / p95 / p99",
                 f"{summary['p50_ms']:.0f} / {summary['p95_ms']:.0f} / {summary['p99_ms']:.0f} ms")
    else:
        page.notes.append("The load test wrote no summary: see logs/loadtest.log.")
    readiness = read_json(out / "readiness" / "readiness.json")
    page.add("Readiness (reduced: one platform, a 30 s budget)", "result", outcome.readiness)
    if isinstance(readiness, dict):
        for key in ("platform", "verdict", "requests_per_second", "interval_low_rps", "interval_high_rps",
                    "students_in_session", "reason"):
            if key in readiness:
                page.add("Readiness (reduced: one platform, a 30 s budget)", key, readiness[key])
    for source, answered in outcome.queries.items():
        page.add("Dashboards' queries on the demo's Prometheus", source, f"{answered} queries return data")
    if not outcome.queries:
        page.notes.append("Prometheus is not installed: the dashboards' queries were not run.")
