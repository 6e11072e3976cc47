"""`mektepnet report`: the deputies' inequality report from the store, in Russian, Kazakh or English."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.common import console, err_console, parse_day, refuses_bad_input

app = typer.Typer(no_args_is_help=True, help="Reports for people: the inequality report for deputies.\n\n"
                  "Example: mektepnet report inequality --db collector.sqlite3 --registry registry.csv "
                  "--from 2027-03-01 --to 2027-03-31 --lang kk --out report/")


@app.command()
@refuses_bad_input
def inequality(
    db: str = typer.Option(..., "--db", help="The store: a SQLite file or a postgresql:// URL."),
    registry: Path = typer.Option(..., "--registry", help="The school registry the collector runs with (CSV or Parquet)."),
    first: str = typer.Option(..., "--from", help="First local day of the period, YYYY-MM-DD."),
    last: str = typer.Option(..., "--to", help="Last local day of the period, YYYY-MM-DD (inclusive)."),
    policy: list[str] = typer.Option(["ministry", "giga-2030", "equal-norms"], "--policy",
                                     help="Norms policy (shipped name or file); repeat for several, the first is main."),
    lang: str = typer.Option("ru", "--lang", help="ru, kk or en."),
    formats: str = typer.Option("html,pdf,xlsx", "--format", help="Comma-separated: html, pdf, xlsx."),
    readiness: Path = typer.Option(None, "--readiness", help="The latest platform readiness result (YAML or JSON)."),
    out: Path = typer.Option(..., "--out", help="Folder to write the report into."),
) -> None:
    """Write the inequality report (HTML, PDF, XLSX) for a period.

    Example: mektepnet report inequality --db collector.sqlite3 --registry registry.csv --from 2027-03-01
    --to 2027-03-31 --lang ru --format html,pdf,xlsx --out report/
    """
    from rich.progress import Progress

    from core.errors import CoreError
    from reports.build import ReportRequest, analyse_store, write_report
    from reports.i18n import Language

    if lang not in {language.value for language in Language}:
        raise CoreError.one("command line", "--lang", lang, "expected ru, kk or en")
    request = ReportRequest(db, registry, parse_day(first, "--from"), parse_day(last, "--to"), out, tuple(policy),
                            Language(lang), tuple(f.strip() for f in formats.split(",") if f.strip()), readiness)
    steps = 3 + len(policy) + len(request.formats)
    with Progress(console=err_console.real(), transient=True) as progress:
        task = progress.add_task("report", total=steps)

        def advance(step: str) -> None:
            progress.update(task, advance=1, description=step)

        analysis = analyse_store(request, advance)
        paths = write_report(request, analysis, advance)
    for path in paths:
        console.print(str(path), highlight=False)


