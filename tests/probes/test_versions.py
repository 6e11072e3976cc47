"""Two real installed versions side by side: the switch, and the launcher's self-rollback of a failing start."""

from __future__ import annotations

from probes.versions import Versions, launch
from tests.helpers.fleet import stub_wheel

GOOD = "import pathlib, os\npathlib.Path(os.environ['RAN']).open('a').write('good\\n')\n"
BROKEN = "import pathlib, os\npathlib.Path(os.environ['RAN']).open('a').write('broken\\n')\nraise SystemExit(3)\n"


def test_a_switch_changes_current_and_keeps_previous(tmp_path):
    versions = Versions(tmp_path / "opt")
    versions.install("1.0", stub_wheel(tmp_path, "1.0", GOOD))
    versions.install("2.0", stub_wheel(tmp_path, "2.0", GOOD))
    versions.switch("1.0")
    versions.switch("2.0")
    assert (versions.current(), versions.previous()) == ("2.0", "1.0")
    assert (versions.path("2.0") / "stubagent" / "__init__.py").read_text() == "VERSION = '2.0'\n"
    assert versions.confirm("2.0") and versions.trial() is None


def test_a_version_that_fails_to_start_is_rolled_back_by_the_launcher(tmp_path, monkeypatch):
    ran = tmp_path / "ran.txt"
    monkeypatch.setenv("RAN", str(ran))
    versions = Versions(tmp_path / "opt")
    versions.install("1.0", stub_wheel(tmp_path, "1.0", GOOD))
    versions.install("2.0", stub_wheel(tmp_path, "2.0", BROKEN))
    versions.switch("1.0")
    versions.confirm("1.0")
    versions.switch("2.0")
    assert launch(versions.root, "stubagent", [], poll_seconds=0.1) == 0
    assert ran.read_text().splitlines() == ["broken", "good"]
    assert versions.current() == "1.0" and versions.failed() == {"2.0"}


def test_a_failing_version_not_on_trial_is_not_rolled_back(tmp_path, monkeypatch):
    monkeypatch.setenv("RAN", str(tmp_path / "ran.txt"))
    versions = Versions(tmp_path / "opt")
    versions.install("1.0", stub_wheel(tmp_path, "1.0", GOOD))
    versions.install("2.0", stub_wheel(tmp_path, "2.0", BROKEN))
    versions.switch("1.0")
    versions.switch("2.0")
    versions.confirm("2.0")                    # it had proven itself: a later crash is systemd's to restart
    assert launch(versions.root, "stubagent", [], poll_seconds=0.1) == 3
    assert versions.current() == "2.0"


def test_a_version_not_confirmed_within_its_trial_is_stopped_and_rolled_back(tmp_path, monkeypatch):
    ran = tmp_path / "ran.txt"
    monkeypatch.setenv("RAN", str(ran))
    hangs = "import pathlib, os, time\npathlib.Path(os.environ['RAN']).open('a').write('hangs\\n')\ntime.sleep(600)\n"
    versions = Versions(tmp_path / "opt")
    versions.install("1.0", stub_wheel(tmp_path, "1.0", GOOD))
    versions.install("2.0", stub_wheel(tmp_path, "2.0", hangs))
    versions.switch("1.0")
    versions.confirm("1.0")
    versions.switch("2.0", trial_seconds=0)       # never confirms: it neither uploads nor measures
    assert launch(versions.root, "stubagent", [], poll_seconds=0.1) == 0
    assert ran.read_text().splitlines() == ["hangs", "good"]
    assert versions.current() == "1.0" and versions.failed() == {"2.0"}
