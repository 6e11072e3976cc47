"""The SNMP targets file: every malformed document refused naming the field, secrets read from files."""

from __future__ import annotations

import pytest

from core.errors import CoreError
from probes.snmp.targets import load_model, load_targets


@pytest.mark.parametrize("document, field, words", [
    ({"targets": []}, "targets", "at least 1"),
    ({"targets": [{"name": "a", "address": "h", "version": "v2c"}]}, "targets.0", "needs a community"),
    ({"targets": [{"name": "a", "address": "h", "version": "v3", "user": "u", "priv_protocol": "AES",
                   "priv_key": "12345678"}]}, "targets.0", "needs authentication"),
    ({"targets": [{"name": "a", "address": "h", "version": "v1", "community": "c"}]}, "targets.0.version", "v2c"),
    ({"targets": [{"name": "a", "address": "h", "version": "v2c", "community": "c", "port": 70000}]},
     "targets.0.port", "65535"),
    ({"targets": [{"name": "a", "address": "h", "version": "v2c", "community": "c", "uplink": "ge0"}]},
     "targets.0", "school_id"),
    ({"targets": [{"name": "a", "address": "h", "version": "v2c", "community": "c"}] * 2}, "targets", "name 'a'"),
])
def test_a_malformed_targets_file_is_refused_naming_the_field(document, field, words):
    with pytest.raises(CoreError) as caught:
        load_model(document, "targets.yaml")
    text = "; ".join(str(problem) for problem in caught.value.problems)
    assert words in text and field.split(".")[0] in text


def test_secrets_can_live_in_files_beside_the_targets_file(tmp_path):
    (tmp_path / "community").write_text("from-a-file\n")
    (tmp_path / "targets.yaml").write_text("targets:\n  - {name: r, address: 10.0.0.1, version: v2c, "
                                           "community_file: community}\n")
    assert load_targets(tmp_path / "targets.yaml").targets[0].community == "from-a-file"
    (tmp_path / "targets.yaml").write_text("targets:\n  - {name: r, address: 10.0.0.1, version: v2c, "
                                           "community_file: missing}\n")
    with pytest.raises(CoreError, match="community_file"):
        load_targets(tmp_path / "targets.yaml")
