"""The collector's settings: the documented example, file + command-line overrides, one line per bad key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from collectors.settings import CollectorSettings, load_settings
from core.errors import CoreError
from tests.helpers.cli import FIXTURES, ROOT, run_cli

EXAMPLE = ROOT / "deploy" / "collector.example.yaml"
BAD = FIXTURES / "collector-settings"


def test_the_example_documents_every_key_and_is_valid_as_it_stands(tmp_path):
    document = yaml.safe_load(EXAMPLE.read_text())
    defaults = CollectorSettings(db=tmp_path / "c.sqlite3")
    assert set(document) == set(CollectorSettings.model_fields)
    assert set(document["ingest"]) == set(vars(defaults.ingest))
    assert set(document["admission"]) == set(type(defaults.admission).model_fields)
    settings = load_settings(EXAMPLE, {"db": str(tmp_path / "c.sqlite3")})
    assert settings.ingest == defaults.ingest and settings.admission == defaults.admission
    assert settings.model_dump(exclude={"db", "ingest_workers"}) == defaults.model_dump(exclude={"db", "ingest_workers"})


def test_options_override_the_file_key_by_key(tmp_path):
    settings_file = tmp_path / "collector.yaml"
    settings_file.write_text(f"db: sqlite:///{tmp_path}/c.sqlite3\nport: 9000\nhost: 127.0.0.2\n"
                             "ingest: {max_clock_offset_seconds: 60, max_in_flight: 8}\n")
    probe_config = ROOT / "deploy" / "collector-probe-config.example.yaml"
    settings = load_settings(settings_file, {"port": 0, "ingest.probe_config": str(probe_config)})
    assert (settings.db, settings.host, settings.port) == (f"{tmp_path}/c.sqlite3", "127.0.0.2", 0)
    assert (settings.ingest.max_clock_offset_seconds, settings.ingest.max_in_flight) == (60, 8)
    assert settings.ingest.probe_config == probe_config


def test_a_bad_option_is_named_as_given_on_the_command_line(tmp_path):
    with pytest.raises(CoreError) as refused:
        load_settings(None, {"port": 70000}, {"port": "--port"})
    assert [str(p) for p in refused.value.problems] == ["command line: --port=70000: must be 0 to 65535"]


@pytest.mark.parametrize("name, named", [
    ("unknown_key.yaml", "bogus_key=1: unknown key"),
    ("unknown_ingest_key.yaml", "ingest.max_body=1000: unknown key"),
    ("port_out_of_range.yaml", "port=70000: must be 0 to 65535"),
    ("clock_offset_too_large.yaml", "ingest.max_clock_offset_seconds=7200.0: must be positive and at most 3600"),
    ("negative_body_timeout.yaml", "admission.body_timeout_seconds=-1"),
    ("half_tls.yaml", "tls_cert='cert.pem': tls_cert and tls_key go together"),
    ("not_a_mapping.yaml", "expected a mapping at the top level"),
    ("unknown_db_scheme.yaml", "db='mysql://db/mektepnet': must be a SQLite file"),
])
def test_collector_serve_refuses_a_bad_settings_file_on_one_line_with_exit_2(tmp_path, name, named):
    result = run_cli("collector", "serve", "--config", BAD / name, cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    assert lines[0].startswith(f"error: {BAD / name}: ") and named in lines[0]
    assert list(Path(tmp_path).iterdir()) == []                  # refused before the store was created
