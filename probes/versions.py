"""Installed agent versions side by side, the `current` switch, and the launcher that rolls back by itself.

Layout of a versions root (`/opt/mektepnet`): `versions/<version>/` (the wheel installed with
`pip install --target`), `current` and `previous` (symlinks into versions/), `trial.json` (a version
on probation), `failed.json` (versions that failed and are never tried again). The outbox lives in
the probe's state directory, outside this tree: no measurement is lost across a switch.

The launcher (systemd's ExecStart) runs `python -m <module> <args>` from `current`. A version on
trial that exits with an error, or is not confirmed healthy (it uploaded and measured) within
`trial_seconds`, is replaced by `previous`; an agent that switched asks for a restart with exit 75.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote

RESTART_EXIT = 75                          # EX_TEMPFAIL: the agent switched versions, start `current` again
VERSIONS_ENV = "MEKTEPNET_VERSIONS_DIR"    # set by the launcher: the agent may install and switch
log = logging.getLogger("mektepnet.probe.versions")


class Versions:
    """One versions root: install, switch with a trial, confirm, roll back."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, version: str) -> Path:
        """Where `version` is installed."""
        return self.root / "versions" / version

    def current(self) -> str | None:
        """The version `current` points at."""
        return self._target("current")

    def previous(self) -> str | None:
        """The version `previous` points at."""
        return self._target("previous")

    def _target(self, name: str) -> str | None:
        link = self.root / name
        return Path(os.readlink(link)).name if link.is_symlink() else None

    def install(self, version: str, wheel: Path) -> Path:
        """Install a wheel (no dependencies: those of the base environment serve) into its version directory."""
        target = self.path(version)
        staging = target.with_name(f".{version}.partial")
        shutil.rmtree(staging, ignore_errors=True)
        with tempfile.TemporaryDirectory() as scratch:
            # pip reads the version from the file name; TUF caches a target under its quoted path (agent%2F...).
            named = Path(scratch) / unquote(wheel.name).rpartition("/")[2]
            shutil.copyfile(wheel, named)
            subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
                            "--disable-pip-version-check", "--target", str(staging), str(named)],
                           check=True, capture_output=True, timeout=600)
        if target.exists():
            shutil.rmtree(staging)
        else:
            os.replace(staging, target)
        return target

    def _link(self, name: str, version: str) -> None:
        fresh = self.root / f".{name}.new"
        fresh.unlink(missing_ok=True)
        fresh.symlink_to(Path("versions") / version)
        os.replace(fresh, self.root / name)        # atomic: a crash leaves the old or the new link

    def switch(self, version: str, trial_seconds: float = 1800.0) -> None:
        """Make `version` current, the running one previous, and put the new one on trial."""
        if not self.path(version).is_dir():
            raise FileNotFoundError(f"version {version} is not installed in {self.root}")
        running = self.current()
        if running is not None and running != version:
            self._link("previous", running)
        self._link("current", version)
        self._write("trial.json", {"version": version, "deadline": time.time() + trial_seconds})

    def trial(self) -> dict | None:
        """The version on trial and its deadline (unix seconds), if any."""
        return self._read("trial.json")

    def confirm(self, version: str) -> bool:
        """End the trial of `version` (it uploaded and measured); True if it was on trial."""
        trial = self.trial()
        if trial is None or trial["version"] != version:
            return False
        (self.root / "trial.json").unlink(missing_ok=True)
        return True

    def failed(self) -> set[str]:
        """Versions that failed their trial."""
        return set(self._read("failed.json") or [])

    def roll_back(self, reason: str) -> str | None:
        """Return to `previous`, remember the failed version; the version now current (None: nothing to go to)."""
        bad, back = self.current(), self.previous()
        (self.root / "trial.json").unlink(missing_ok=True)
        if bad is not None:
            self._write("failed.json", sorted(self.failed() | {bad}))
        if back is None:
            return None
        self._link("current", back)
        (self.root / "previous").unlink(missing_ok=True)
        log.error("version %s %s; rolled back to %s", bad, reason, back)
        return back

    def _read(self, name: str):
        try:
            return json.loads((self.root / name).read_text())
        except (OSError, ValueError):
            return None

    def _write(self, name: str, document) -> None:
        fresh = self.root / f".{name}.new"
        fresh.write_text(json.dumps(document))
        os.replace(fresh, self.root / name)


def launch(root: Path, module: str, args: list[str], poll_seconds: float = 1.0) -> int:
    """Run the agent from `current` until it exits for good; returns its exit code (systemd restarts it).

    SIGTERM and SIGHUP are passed on to the agent; after a SIGTERM its exit is final (no restart, no rollback)."""
    versions = Versions(root)
    running: list[subprocess.Popen] = []
    stopping: list[int] = []

    def forward(signum: int, _frame) -> None:
        if signum == signal.SIGTERM:
            stopping.append(signum)
        for child in running:
            child.send_signal(signum)

    kept = {signum: signal.signal(signum, forward) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        while not stopping:
            version = versions.current()
            if version is None:
                log.error("no version installed under %s", root)
                return 1
            environment = {**os.environ, VERSIONS_ENV: str(root), "PYTHONPATH": str(versions.path(version))}
            running[:] = [subprocess.Popen([sys.executable, "-m", module, *args], env=environment)]
            code = _watch(running[0], versions, version, poll_seconds)
            if stopping:
                return code
            if code == RESTART_EXIT:
                log.info("version %s switched to %s; starting it", version, versions.current())
                continue
            trial = versions.trial()
            if trial is not None and trial["version"] == version and code != 0:
                if versions.roll_back(f"exited with {code} on trial") is not None:
                    continue
            return code
        return 0
    finally:
        for signum, handler in kept.items():
            signal.signal(signum, handler)


def _watch(child: subprocess.Popen, versions: Versions, version: str, poll_seconds: float) -> int:
    """Wait for the child; a trial that outlives its deadline unconfirmed is ended (the child is stopped)."""
    while True:
        try:
            return child.wait(timeout=poll_seconds)
        except subprocess.TimeoutExpired:
            trial = versions.trial()
            if trial is not None and trial["version"] == version and time.time() > trial["deadline"]:
                child.terminate()
                child.wait()
                return 1                            # an unconfirmed trial counts as a failure


def main(argv: list[str] | None = None) -> int:
    """`python -m probes.versions --root DIR [--module cli] -- probe run --config FILE`."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True, help="The versions root, e.g. /opt/mektepnet.")
    parser.add_argument("--module", default="cli", help="The module each version runs (python -m MODULE).")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="Arguments of the agent, after --.")
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = options.args[1:] if options.args[:1] == ["--"] else options.args
    return launch(options.root, options.module, args)


if __name__ == "__main__":
    sys.exit(main())
