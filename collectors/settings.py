"""The collector's settings: where it listens, its store and TLS files, the fleet files, the ingest bounds.

One model holds every default. It is read from YAML (deploy/collector.example.yaml documents every
key); the options of `mektepnet collector serve` override the file. Every refusal names the key (or
the option) and the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from collectors.admission import AdmissionSettings
from collectors.api import IngestSettings, config_document
from collectors.ingest import default_workers
from collectors.store import MAX_TRUSTED_OFFSET_SECONDS, is_postgresql
from core.config import load_yaml_model
from core.errors import CoreError, Problem, problems_from_pydantic

SQLITE_URL = "sqlite:///"           # sqlite:///relative/path, sqlite:////absolute/path
EXAMPLE = "deploy/collector.example.yaml"


def _between(low: float, high: float, unit: str = "") -> AfterValidator:
    def check(value: float) -> float:
        if not low <= value <= high:
            raise ValueError(f"must be {low:g} to {high:g}{unit}")
        return value

    return AfterValidator(check)


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError("must be positive seconds")
    return value


Seconds = Annotated[float, AfterValidator(_positive)]


def store_location(url: str | Path) -> str:
    """The store a --db value names: a postgresql:// URL, or a SQLite file path (`sqlite:///` URLs accepted);
    ValueError if it cannot be one, or if the directory of a SQLite file does not exist."""
    text = str(url)
    if is_postgresql(text) or text == ":memory:":
        return text
    if text.startswith(SQLITE_URL):
        text = text[len(SQLITE_URL):]
    elif "://" in text:
        raise ValueError("must be a SQLite file, a sqlite:///path or a postgresql:// URL")
    if not text:
        raise ValueError("names no file")
    directory = Path(text).parent
    if not directory.is_dir():
        raise ValueError(f"the directory {directory} does not exist")
    return text


class CollectorSettings(BaseModel):
    """Everything `collector serve` needs; the defaults are the shipped ones."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    db: str = "mektepnet.sqlite3"                  # a SQLite file (created if absent) or a postgresql:// URL
    host: str = "127.0.0.1"
    port: Annotated[int, _between(0, 65535)] = 8443                    # 0 picks a free port
    tls_cert: Path | None = None                   # PEM certificate: serve https:// (with tls_key)
    tls_key: Path | None = None
    registry: Path | None = None                   # with it: /metrics of every school, and unknown schools refused
    policy: str = "ministry"                       # a shipped policy name or a policy file
    max_age_seconds: Seconds = 6 * 3600            # older latest values are not exported: silence shows
    verdict_window_days: Annotated[int, _between(1, 366, " days")] = 7
    verdict_every_seconds: Seconds = 300.0
    maintenance_every_seconds: Seconds = 30.0      # daily roll-ups of days that got results; retention
    ingest_workers: Annotated[int, _between(0, 64)] = Field(default_factory=default_workers)   # 0: in the API process
    snmp_targets: Path | None = None               # operator nodes and managed CPEs to poll from the centre
    snmp_interval_seconds: Annotated[float, _between(5, 3600, " seconds")] = 60.0
    ingest: IngestSettings = IngestSettings()
    admission: AdmissionSettings = AdmissionSettings()

    @field_validator("db", mode="before")
    @classmethod
    def _store(cls, value: object) -> object:
        return store_location(value) if isinstance(value, (str, Path)) else value

    @field_validator("tls_cert", "tls_key", "registry", "snmp_targets")
    @classmethod
    def _existing(cls, path: Path | None) -> Path | None:
        if path is not None and not path.is_file():
            raise ValueError("no such file")
        return path

    @field_validator("snmp_targets")
    @classmethod
    def _targets(cls, path: Path | None) -> Path | None:
        if path is not None:
            from probes.snmp.targets import load_targets

            load_targets(path)                     # its own problems name its own lines
        return path

    @field_validator("ingest")
    @classmethod
    def _ingest(cls, ingest: IngestSettings) -> IngestSettings:
        for name, low, high in (("max_body_bytes", 1, 1 << 30), ("batch_burst", 1, 10**9),
                                ("max_in_flight", 0, 100_000), ("shed_retry_after_seconds", 1, 3600),
                                ("raw_retention_months", 1, 1200)):
            if not low <= getattr(ingest, name) <= high:
                raise CoreError.one("", f"ingest.{name}", getattr(ingest, name), f"must be {low:g} to {high:g}")
        if ingest.batches_per_token_per_hour <= 0:
            raise CoreError.one("", "ingest.batches_per_token_per_hour", ingest.batches_per_token_per_hour,
                                "must be positive")
        offset = ingest.max_clock_offset_seconds
        if not 0 < offset <= MAX_TRUSTED_OFFSET_SECONDS:
            raise CoreError.one("", "ingest.max_clock_offset_seconds", offset,
                                f"must be positive and at most {MAX_TRUSTED_OFFSET_SECONDS:g} s: "
                                "a clock further off is never trusted")
        if ingest.probe_config is not None:
            if not ingest.probe_config.is_file():
                raise CoreError.one("", "ingest.probe_config", str(ingest.probe_config), "no such file")
            try:
                config_document(ingest.probe_config)
            except yaml.YAMLError as exc:
                raise CoreError.one("", "ingest.probe_config", str(ingest.probe_config),
                                    f"not valid YAML: {getattr(exc, 'problem', exc)}") from None
        return ingest

    @model_validator(mode="before")
    @classmethod
    def _tls_pair(cls, data: object) -> object:
        if isinstance(data, dict) and (data.get("tls_cert") is None) != (data.get("tls_key") is None):
            given = "tls_cert" if data.get("tls_cert") is not None else "tls_key"
            raise CoreError.one("", given, str(data[given]), "tls_cert and tls_key go together")
        return data


class _Document(BaseModel):
    model_config = ConfigDict(extra="allow")




def load_settings(path: str | Path | None = None, overrides: Mapping[str, object] | None = None,
                  options: Mapping[str, str] | None = None) -> CollectorSettings:
    """The settings in the YAML file `path` (None: the defaults), with `overrides` applied over them.

    `overrides` maps a dotted key (`port`, `ingest.probe_config`) to the value a command-line option gave;
    `options` names that option for each key. CoreError names each bad key of the file, or the option,
    with its value."""
    overrides, options = dict(overrides or {}), dict(options or {})
    data = dict(load_yaml_model(path, _Document).model_extra or {}) if path is not None else {}
    for key, value in overrides.items():
        section, _, name = key.rpartition(".")
        target = data
        if section:
            if not isinstance(data.get(section, {}), dict):
                continue                       # the file's own error is reported
            target = data[section] = dict(data.get(section, {}))
        target[name] = value
    try:
        return CollectorSettings.model_validate(data)
    except ValidationError as exc:
        source = str(path) if path is not None else "settings"
        raise CoreError(_problems(exc, source, {key: options.get(key, key) for key in overrides}, options)) from None


def _problems(exc: ValidationError, source: str, given: dict[str, str], options: dict[str, str]) -> list[Problem]:
    """Each problem located where its value came from: the command line (by option) or the file (by key)."""

    def located(problem: Problem) -> Problem:
        if problem.field not in given:
            return Problem(source, problem.field, problem.value, problem.message)
        message = problem.message
        for key, option in options.items():          # the message speaks of options too
            message = re.sub(rf"\b{re.escape(key.rpartition('.')[2])}\b", option, message)
        return Problem("command line", given[problem.field], problem.value, message)

    problems = []
    for error, problem in zip(exc.errors(include_url=False), problems_from_pydantic(exc, "")):
        cause = (error.get("ctx") or {}).get("error")
        if isinstance(cause, CoreError):
            problems += [located(p) if not p.source else p for p in cause.problems]
        elif error["type"] in ("extra_forbidden", "unexpected_keyword_argument"):
            problems.append(Problem(source, problem.field, problem.value, f"unknown key (every key: {EXAMPLE})"))
        else:
            problems.append(located(problem))
    return problems
