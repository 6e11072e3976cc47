"""`mektepnet fleet`: signed agent versions and probe configuration (TUF), staged rollouts, rollback."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.common import console, refuses_bad_input
from core.errors import CoreError

app = typer.Typer(no_args_is_help=True, help="Signed updates and configuration of the probe fleet (TUF).")
keys_app = typer.Typer(no_args_is_help=True, help="The fleet's signing keys.")
app.add_typer(keys_app, name="keys")

FLEET_DIR = typer.Option(Path("/var/lib/mektepnet-collector/fleet"), "--fleet-dir",
                         help="The fleet repository (the collector serves its public/ under /fleet/).")
ROOT_KEY = typer.Option(..., "--root-key", help="The offline root key (PEM), on removable media.")


def _repository(fleet_dir: Path):
    from collectors.fleet.repository import FleetRepository

    return FleetRepository(fleet_dir)


def _registry(path: Path | None):
    from core.registry import load_registry

    return load_registry(path) if path is not None else None


@keys_app.command("init")
@refuses_bad_input
def keys_init(fleet_dir: Path = FLEET_DIR, root_key: Path = ROOT_KEY) -> None:
    """Create the repository: a new offline root key, new online keys, root version 1.

    Example: mektepnet fleet keys init --fleet-dir /var/lib/mektepnet-collector/fleet --root-key /media/usb/root.pem
    """
    from collectors.fleet.repository import FleetRepository

    repository = FleetRepository.create(fleet_dir, root_key)
    console.print(f"fleet repository in {fleet_dir}; install {repository.metadata_dir / 'root.json'} on every "
                  f"probe as <state_dir>/fleet/metadata/root.json; keep {root_key} offline")


@keys_app.command("rotate")
@refuses_bad_input
def keys_rotate(fleet_dir: Path = FLEET_DIR, root_key: Path = ROOT_KEY) -> None:
    """Replace the online keys; a new root version signed with the offline root key (probes follow by themselves).

    Example: mektepnet fleet keys rotate --fleet-dir /var/lib/mektepnet-collector/fleet --root-key /media/usb/root.pem
    """
    version = _repository(fleet_dir).rotate(root_key)
    console.print(f"online keys replaced; root version {version} published")


@app.command()
@refuses_bad_input
def publish(
    version: str = typer.Option(..., "--version", help="The release's version (PEP 440), newer than the track's."),
    wheel: Path = typer.Option(None, "--wheel", help="An agent wheel (mektepnet-<version>-py3-none-any.whl)."),
    config: Path = typer.Option(None, "--config", help="Probe configuration sections (YAML: jobs, throughput, "
                                                       "modules, upload)."),
    group: str = typer.Option(None, "--group", help="region=CODE, locality=urban|rural or schools=ID,ID "
                                                    "(default: every school)."),
    registry: Path = typer.Option(None, "--registry", help="School registry, to resolve region= and locality=."),
    fleet_dir: Path = FLEET_DIR,
) -> None:
    """Publish an agent version or a configuration as signed targets (the first becomes stable, later ones wait
    for `fleet rollout`).

    Example: mektepnet fleet publish --version 0.2.0 --wheel dist/mektepnet-0.2.0-py3-none-any.whl
    """
    from collectors.fleet import releases

    if (wheel is None) == (config is None):
        raise CoreError.one("", "--wheel/--config", "", "give exactly one of --wheel and --config")
    repository = _repository(fleet_dir)
    if wheel is not None:
        target = releases.publish_wheel(repository, wheel, version)
    else:
        target = releases.publish_config(repository, config, version, releases.group_of(group, _registry(registry)))
    console.print(f"published {target}")


@app.command()
@refuses_bad_input
def rollout(
    track: str = typer.Option(..., "--track", help="agent, or a configuration group (default, region=ALM ...)."),
    stages: str = typer.Option("5,25,100", "--stages", help="Shares (percent) of the selected probes, in order."),
    every_hours: float = typer.Option(24.0, "--every-hours", help="Time between stages while healthy."),
    margin: float = typer.Option(0.1, "--margin", help="Stop when the cohort is worse by more than this ratio."),
    only: str = typer.Option(None, "--only", help="Select schools first: region=CODE, locality=.. or schools=ID,ID."),
    registry: Path = typer.Option(None, "--registry", help="School registry, to resolve --only region=/locality=."),
    fleet_dir: Path = FLEET_DIR,
) -> None:
    """Start rolling out a track's candidate in stages.

    Example: mektepnet fleet rollout --track agent --stages 1,10,50,100 --every-hours 24 --margin 0.05
    """
    from collectors.fleet import releases
    from collectors.fleet.rollout import Plan, start

    try:
        shares = tuple(float(share) for share in stages.split(","))
    except ValueError:
        raise CoreError.one("", "--stages", stages, "must be percentages separated by commas") from None
    plan = Plan(stages_percent=shares, every_seconds=every_hours * 3600, margin_ratio=margin)
    schools = releases.group_of(only, _registry(registry)).schools if only else None
    started = start(_repository(fleet_dir), track, plan, schools)
    console.print(f"{track}: {started.candidate} rolling to {started.share_percent:g} % "
                  f"of {'every school' if schools is None else f'{len(schools)} schools'}")


@app.command()
@refuses_bad_input
def advance(db: str = typer.Option(..., "--db", help="The collector's store (SQLite file or postgresql:// URL)."),
            fleet_dir: Path = FLEET_DIR) -> None:
    """Judge every rolling track against the store: stop, widen or complete it; refresh the timestamp.
    Run by a timer (deploy/systemd/mektepnet-fleet.timer).

    Example: mektepnet fleet advance --db /var/lib/mektepnet-collector/mektepnet.sqlite3
    """
    from collectors.fleet.rollout import advance as judge
    from collectors.settings import store_location
    from collectors.store import Store

    try:
        location = store_location(db)
    except ValueError as exc:
        raise CoreError.one("", "--db", db, str(exc)) from None
    repository, store = _repository(fleet_dir), Store(location)
    try:
        for name, outcome in judge(repository, store).items():
            console.print(f"{name}: {outcome}")
    finally:
        store.close()
    repository.refresh_timestamp()


@app.command()
@refuses_bad_input
def timestamp(fleet_dir: Path = FLEET_DIR) -> None:
    """Sign a fresh timestamp (it expires in a day: probes refuse a stale one).

    Example: mektepnet fleet timestamp --fleet-dir /var/lib/mektepnet-collector/fleet
    """
    console.print(f"timestamp version {_repository(fleet_dir).refresh_timestamp()}")


@app.command()
@refuses_bad_input
def status(fleet_dir: Path = FLEET_DIR) -> None:
    """Show every track: stable, candidate, rollout state and share, and the metadata versions.

    Example: mektepnet fleet status
    """
    from rich.table import Table

    repository = _repository(fleet_dir)
    index = repository.index()
    table = Table("track", "stable", "candidate", "state", "share", "why stopped")
    for name, track in [("agent", index.agent), *((group.name, group.track) for group in index.groups)]:
        table.add_row(name, track.stable or "-", track.candidate or "-", track.state, f"{track.share_percent:g} %",
                      track.stopped_because or "")
    console.print(table)
    console.print(f"root v{repository.root().signed.version}, targets v{repository.targets().signed.version}, "
                  f"timestamp expires {repository.timestamp().signed.expires:%Y-%m-%d %H:%M} UTC")


@app.command()
@refuses_bad_input
def rollback(track: str = typer.Option(..., "--track", help="agent, or a configuration group."),
             to: str = typer.Option(None, "--to", help="An earlier published version to make stable."),
             fleet_dir: Path = FLEET_DIR) -> None:
    """Send the fleet back: stop a running rollout, or make an earlier version the stable one.

    Example: mektepnet fleet rollback --track agent --to 0.1.0
    """
    from collectors.fleet.rollout import rollback as back

    track_now = back(_repository(fleet_dir), track, to)
    console.print(f"{track}: every probe returns to {track_now.stable}")
