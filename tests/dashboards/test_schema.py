"""Every exported dashboard and panel validates against Grafana 11.6's JSON schemas and parses back with the SDK."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models.dashboard import Dashboard
from jsonschema import Draft7Validator

from core.norms import SHIPPED_POLICIES, load_policy
from dashboards import DASHBOARDS, dashboard_json

SCHEMAS = Path("/work/shared/grafana-jsonschema-11.6")
PANEL_TYPES = {"stat", "timeseries", "table", "geomap", "bargauge", "histogram"}


def validator(name: str, definition: str | None = None) -> Draft7Validator:
    """A validator of one schema file, or of one of its definitions."""
    schema = json.loads((SCHEMAS / f"{name}.jsonschema.json").read_text())
    if definition:
        schema = {**schema, "$ref": f"#/definitions/{definition}"}
    return Draft7Validator(schema)


def errors(check: Draft7Validator, document) -> list[str]:
    return [f"{'/'.join(map(str, error.absolute_path))}: {error.message}" for error in check.iter_errors(document)]


@pytest.fixture(scope="module", params=SHIPPED_POLICIES)
def exported(request) -> dict[str, dict]:
    return {uid: dashboard_json(uid, load_policy(request.param)) for uid in DASHBOARDS}


def test_every_dashboard_and_panel_validates_against_grafana_11_6(exported):
    board_check, prometheus_check = validator("dashboard"), validator("prometheus")
    for uid, board in exported.items():
        assert errors(board_check, board) == [], uid
        assert board["uid"] == uid and 8 <= len(uid) <= 40
        for panel in board["panels"]:
            where = f"{uid}: {panel['title']}"
            assert panel["type"] in PANEL_TYPES, where
            assert errors(validator(panel["type"], "Options"), panel.get("options", {})) == [], where
            custom = panel.get("fieldConfig", {}).get("defaults", {}).get("custom")
            if custom is not None:
                assert errors(validator(panel["type"], "FieldConfig"), custom) == [], where
            for target in panel["targets"]:
                if target["datasource"]["type"] == "prometheus":
                    assert errors(prometheus_check, target) == [], where


def test_every_panel_says_what_to_read_from_it_in_one_line(exported):
    for board in exported.values():
        for panel in board["panels"]:
            assert panel["description"].strip() and "\n" not in panel["description"], panel["title"]
            assert panel["targets"], panel["title"]


def test_dashboards_parse_back_with_the_sdk_unchanged(exported):
    """Parsed back, a dashboard keeps every field it had (the SDK only adds panel defaults) and is stable."""
    register_default_plugins()
    for uid, board in exported.items():
        parsed = json.loads(json.dumps(Dashboard.from_json(board), cls=JSONEncoder))
        assert _within(board, parsed), uid
        assert json.loads(json.dumps(Dashboard.from_json(parsed), cls=JSONEncoder)) == parsed, uid
        queries = [target for panel in Dashboard.from_json(board).panels for target in panel.targets]
        assert {type(query).__name__ for query in queries} <= {"Dataquery", "SqlQuery"}, uid


def _within(part, whole) -> bool:
    """True when every key and value of `part` is in `whole` (lists element by element)."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(key in whole and _within(value, whole[key])
                                               for key, value in part.items())
    if isinstance(part, list):
        return isinstance(whole, list) and len(part) == len(whole) and all(map(_within, part, whole))
    return part == whole


def test_a_verdict_is_never_shown_by_colour_alone(exported):
    worded = set()
    for board in exported.values():
        for panel in board["panels"]:
            for mapping in panel.get("fieldConfig", {}).get("defaults", {}).get("mappings", []):
                for result in mapping["options"].values():
                    assert result["text"][0] in "✔✘", panel["title"]       # a word and a symbol with the colour
                    worded.add(panel["title"])
            if panel["type"] == "geomap":
                layers = panel["options"]["layers"]
                symbols = {layer["config"]["style"]["symbol"]["fixed"] for layer in layers}
                assert len(symbols) == len(layers) == 2 and all(layer["name"] for layer in layers)
    assert {"Verdict", "Within the SLO", "Platforms reachable", "Schools below the norm"} <= worded
    palette = {"#0072B2", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#CC79A7", "#999999"}
    for board in exported.values():
        colours = _values(board, "color") | _values(board, "fixedColor") | _values(board, "fixed")
        assert {colour for colour in colours if colour.startswith("#")} <= palette
        modes = {mode for mode in _values(board, "mode") if mode.startswith("continuous")}
        assert modes <= {"continuous-YlBl"}                            # no red-green scale


def _values(node, key: str) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for name, value in node.items():
            if name == key and isinstance(value, str):
                found.add(value)
            found |= _values(value, key)
    elif isinstance(node, list):
        for item in node:
            found |= _values(item, key)
    return found
