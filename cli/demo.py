"""`mektepnet demo`: the whole system on loopback in one command (collectors.demo runs the stages)."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.common import console, err_console, refuses_bad_input
from core.errors import CoreError

LANGUAGES = ("ru", "kk", "en")


@refuses_bad_input
def demo(
    out: Path = typer.Option(Path("mektepnet-demo"), "--out", help="Folder for everything the demo writes."),
    schools: int = typer.Option(1500, "--schools", help="Schools in the synthetic registry (7500: the whole country)."),
    days: int = typer.Option(7, "--days", help="Days of simulated history before today (1-366): the last 2 as raw "
                             "rows, the days before as daily roll-ups and day verdicts only."),
    lang: str = typer.Option("ru", "--lang", help="Language of the deputies' report: ru, kk or en."),
    keep_running: bool = typer.Option(False, "--keep-running", help="Keep the services up and print their URLs "
                                      "until Ctrl-C."),
    seed: int = typer.Option(1, "--seed", help="Random seed of the registry and the history."),
) -> None:
    """Run MektepNet end to end on loopback: a synthetic registry, the collector, simulated history, live
    probes measuring for real against an ndt7 server and the platform simulator, Prometheus, a first-bell
    load test, a reduced readiness check, the dashboards and the deputies' report, and an index.html.

    Example: mektepnet demo --out /tmp/demo --schools 1500 --days 7 --lang kk
    """
    from collectors.demo.pipeline import Demo, DemoSettings

    if schools < 50:
        raise CoreError.one("command line", "--schools", schools, "must be at least 50")
    if not 1 <= days <= 366:
        raise CoreError.one("command line", "--days", days, "must be between 1 and 366")
    if lang not in LANGUAGES:
        raise CoreError.one("command line", "--lang", lang, f"expected {', '.join(LANGUAGES)}")
    out.mkdir(exist_ok=True)                  # a missing parent is a mistyped path: refused, naming --out
    try:
        Demo(DemoSettings(out, schools, days, lang, keep_running, seed), console.real()).run()
    except KeyboardInterrupt:
        console.print("interrupted: every process of the demo is stopped")
        raise typer.Exit(130) from None
    except RuntimeError as exc:               # a stage failed; its log is named in the message
        err_console.print(f"demo stopped: {exc}", markup=False, highlight=False)
        raise typer.Exit(1) from None
