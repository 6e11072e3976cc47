"""The probe's TUF client against a real collector serving a real fleet repository under /fleet/."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from collectors.api import IngestSettings
from collectors.fleet import keys
from collectors.fleet.releases import group_of, publish_config, publish_wheel
from collectors.fleet.repository import FleetRepository, Lifetimes
from collectors.fleet.rollout import Plan, start
from collectors.settings import CollectorSettings
from probes.update import FleetClient
from tests.helpers.collector import collector_thread
from tests.helpers.fleet import install_root, stub_wheel

SCHOOL = "KZ-ALM-0001"
CONFIG_1 = {"upload": {"interval_seconds": 60}}
CONFIG_2 = {"upload": {"interval_seconds": 90}}


@pytest.fixture
def fleet(tmp_path):
    """(repository, collector URL, probe client) with configuration 1 published as stable."""
    repository = FleetRepository.create(tmp_path / "fleet", tmp_path / "offline" / "root.pem")
    (tmp_path / "c1.yaml").write_text(yaml.safe_dump(CONFIG_1))
    publish_config(repository, tmp_path / "c1.yaml", "1", group_of(None, None))
    install_root(repository.fleet_dir, tmp_path / "probe")
    settings = CollectorSettings(db=str(tmp_path / "c.sqlite3"), ingest=IngestSettings(fleet_dir=repository.fleet_dir))
    with collector_thread(settings) as url:
        yield repository, FleetClient(url, tmp_path / "probe", "probe-1", SCHOOL)


def test_the_probe_takes_a_published_configuration_and_agent_version(fleet, tmp_path):
    repository, client = fleet
    assert client.enabled()
    offer = client.check()
    assert offer.config_sections == CONFIG_1 and offer.agent_version is None
    wheel = stub_wheel(tmp_path, "0.2.0", "print('hello')\n")
    publish_wheel(repository, wheel, "0.2.0")
    (tmp_path / "c2.yaml").write_text(yaml.safe_dump(CONFIG_2))
    publish_config(repository, tmp_path / "c2.yaml", "2", group_of(None, None))
    offer = client.check()
    assert offer.agent_version == "0.2.0" and offer.wheel.read_bytes() == wheel.read_bytes()
    assert offer.config_sections == CONFIG_1                 # 2 is only a candidate until rolled out
    start(repository, "default", Plan(stages_percent=(100.0,)))
    assert client.check().config_sections == CONFIG_2
    assert sum(client.refusals.values()) == 0


def test_a_tampered_target_is_refused_and_the_running_offer_kept(fleet):
    repository, client = fleet
    kept = client.check()
    stored = next((repository.targets_dir / "config").rglob("*.1.yaml"))
    stored.write_text(yaml.safe_dump({"upload": {"interval_seconds": 1}}))
    shutil.rmtree(client.directory / "targets")
    assert client.check() is None
    assert client.refusals["tampered"] == 1 and client.offer == kept


def test_metadata_signed_with_a_key_the_root_does_not_trust_is_refused(fleet, tmp_path):
    repository, client = fleet
    client.check()
    keys.replace(keys.online_key_path(repository.fleet_dir, "targets"))    # a stolen server's own key
    (tmp_path / "c2.yaml").write_text(yaml.safe_dump(CONFIG_2))
    publish_config(repository, tmp_path / "c2.yaml", "2", group_of(None, None))
    assert client.check() is None
    assert client.refusals["unsigned"] == 1


def test_an_edited_timestamp_without_a_signature_is_refused(fleet):
    repository, client = fleet
    path = repository.metadata_dir / "timestamp.json"
    document = json.loads(path.read_text())
    document["signed"]["version"] += 10
    path.write_text(json.dumps(document))
    assert client.check() is None
    assert client.refusals["unsigned"] == 1


def test_an_expired_timestamp_is_a_freeze_attack_and_refused(fleet):
    repository, client = fleet
    client.check()
    FleetRepository(repository.fleet_dir, Lifetimes(timestamp_days=-1)).refresh_timestamp()
    assert client.check() is None
    assert client.refusals["expired"] == 1


def test_replayed_older_metadata_is_a_rollback_attack_and_refused(fleet, tmp_path):
    repository, client = fleet
    old = (repository.metadata_dir / "timestamp.json").read_bytes()
    (tmp_path / "c2.yaml").write_text(yaml.safe_dump(CONFIG_2))
    publish_config(repository, tmp_path / "c2.yaml", "2", group_of(None, None))
    assert client.check() is not None                      # the probe has seen the newer timestamp
    (repository.metadata_dir / "timestamp.json").write_bytes(old)
    assert client.check() is None
    assert client.refusals["rollback"] == 1


def test_metadata_mixed_from_two_snapshots_is_refused(fleet, tmp_path):
    repository, client = fleet
    version = repository.timestamp().signed.snapshot_meta.version
    older = (repository.metadata_dir / f"{version}.snapshot.json").read_bytes()
    (tmp_path / "c2.yaml").write_text(yaml.safe_dump(CONFIG_2))
    publish_config(repository, tmp_path / "c2.yaml", "2", group_of(None, None))
    newer = repository.timestamp().signed.snapshot_meta.version
    (repository.metadata_dir / f"{newer}.snapshot.json").write_bytes(older)
    assert client.check() is None
    assert client.refusals["mixed"] == 1


def test_online_keys_rotate_without_touching_the_probe(fleet, tmp_path):
    repository, client = fleet
    client.check()
    assert repository.rotate(tmp_path / "offline" / "root.pem") == 2
    (tmp_path / "c2.yaml").write_text(yaml.safe_dump(CONFIG_2))
    publish_config(repository, tmp_path / "c2.yaml", "2", group_of(None, None))
    start(repository, "default", Plan(stages_percent=(100.0,)))
    assert client.check().config_sections == CONFIG_2
    trusted = json.loads((client.directory / "metadata" / "root.json").read_text())
    assert trusted["signed"]["version"] == 2


def test_a_probe_of_a_pilot_group_gets_the_pilot_configuration(fleet, tmp_path):
    repository, client = fleet
    (tmp_path / "pilot.yaml").write_text(yaml.safe_dump(CONFIG_2))
    publish_config(repository, tmp_path / "pilot.yaml", "1", group_of(f"schools={SCHOOL},KZ-AST-0002", None))
    assert client.check().config_sections == CONFIG_2
    other = FleetClient(client.base.removesuffix("/fleet"), client.directory.parent.parent / "other", "p2", "KZ-X-1")
    install_root(repository.fleet_dir, other.directory.parent)
    assert other.check().config_sections == CONFIG_1
