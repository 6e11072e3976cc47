"""Publishing releases: an agent wheel or a probe configuration for a group, each checked before any probe sees it.

A wheel must be a zip holding `<name>-<version>.dist-info/` of the version given; a configuration must
lay over a probe's file and validate (probes/config.py's model); a version must be newer than every
one already published on its track. A first release becomes the stable one; later ones wait as the
candidate until `mektepnet fleet rollout` starts them.
"""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version
from pydantic import ValidationError

from collectors.fleet.repository import FleetRepository
from core.errors import CoreError, problems_from_pydantic
from core.fleet import DEFAULT_GROUP, FleetIndex, Group, Track
from core.registry import Registry
from core.school import Locality
from probes.agent import effective_config
from probes.config import ProbeConfig

SECTIONS = ("jobs", "throughput", "modules", "upload")      # what a served configuration may set
_SAMPLE = ProbeConfig(collector="http://127.0.0.1", school_id="KZ-CHECK-0001")


def _version(text: str, field: str = "--version") -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise CoreError.one("", field, text, "is not a version (PEP 440, e.g. 0.2.0)") from None


def _newer(version: str, track: Track, of_reference=lambda reference: reference) -> None:
    for reference in (track.stable, track.candidate):
        if reference is not None and _version(version) <= _version(of_reference(reference)):
            raise CoreError.one("", "--version", version, f"is not newer than {of_reference(reference)} "
                                                         "already published")


def _release(track: Track, reference: str, name: str) -> Track:
    if track.state == "rolling":
        # A new candidate would silently end the rollout and send its cohort back to stable (a downgrade).
        raise CoreError.one("", "--version", reference, f"cannot be published while {name} rolls out "
                                                        f"{track.candidate}: let it complete or roll it back first")
    if track.stable is None:
        return Track(stable=reference)
    return Track(stable=track.stable, candidate=reference)


def check_wheel(path: Path, version: str) -> None:
    """Refuse a file that is not a wheel of `version` (a zip with `<name>-<version>.dist-info/`)."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = {name.split("/")[0] for name in archive.namelist() if ".dist-info/" in name}
    except zipfile.BadZipFile:
        raise CoreError.one(path, "--wheel", str(path), "is not a wheel (not a zip archive)") from None
    if not path.name.endswith(".whl") or not infos:
        raise CoreError.one(path, "--wheel", str(path), "is not a wheel (no .dist-info directory)")
    versions = {info[:-len(".dist-info")].rpartition("-")[2] for info in infos}
    if {str(_version(found, "--wheel")) for found in versions} != {str(_version(version))}:
        raise CoreError.one(path, "--wheel", str(path), f"holds version {', '.join(sorted(versions))}, "
                                                        f"not --version {version}")


def publish_wheel(repository: FleetRepository, wheel: Path, version: str) -> str:
    """Publish an agent version; returns its target path."""
    index = repository.index()
    _newer(version, index.agent)
    check_wheel(wheel, version)
    target = f"agent/{version}/{wheel.name}"
    repository.publish(index.model_copy(update={"agent": _release(index.agent, version, "agent"),
                                                "wheels": {**index.wheels, version: target}}),
                       {target: (wheel.read_bytes(), {"version": version})})
    return target


def check_config(path: Path) -> dict:
    """The sections of a configuration file, refused (naming the field) unless they validate over a probe's file."""
    try:
        sections = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise CoreError.one(path, "--config", str(path), f"is not YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(sections, dict):
        raise CoreError.one(path, "(document)", type(sections).__name__, "expected a mapping at the top level")
    for key in sections:
        if key not in SECTIONS:
            raise CoreError.one(path, str(key), "", f"is not a section a served configuration may set "
                                                    f"({', '.join(SECTIONS)})")
    try:
        effective_config(_SAMPLE, sections)
    except ValidationError as exc:
        raise CoreError(problems_from_pydantic(exc, path)) from None
    return sections


def group_of(selector: str | None, registry: Registry | None) -> Group:
    """The group a `--group` value names (`region=ALM`, `locality=rural`, `schools=a,b`), schools resolved."""
    if not selector:
        return Group(name=DEFAULT_GROUP)
    kind, _, value = selector.partition("=")
    if kind == "schools" and value:
        schools = tuple(sorted({school.strip() for school in value.split(",") if school.strip()}))
        if registry is not None and (unknown := [school for school in schools if school not in registry]):
            raise CoreError.one("", "--group", selector, f"names schools not in the registry: {', '.join(unknown)}")
        return Group(name=f"schools={hashlib.sha256(','.join(schools).encode()).hexdigest()[:12]}", schools=schools)
    if kind not in ("region", "locality") or not value:
        raise CoreError.one("", "--group", selector, "must be region=CODE, locality=urban|rural or schools=ID,ID")
    if registry is None:
        raise CoreError.one("", "--registry", "", f"is needed to resolve --group {selector}")
    if kind == "locality" and value not in {locality.value for locality in Locality}:
        raise CoreError.one("", "--group", selector, "locality must be urban or rural")
    schools = tuple(sorted(school.school_id for school in registry if str(getattr(school, kind)) == value))
    if not schools:
        raise CoreError.one("", "--group", selector, "matches no school of the registry")
    return Group(name=selector, schools=schools)


def config_version(reference: str) -> str:
    """The version of a configuration target (`config/<group>/<version>.yaml`)."""
    return reference.rsplit("/", 1)[-1].removesuffix(".yaml")


def publish_config(repository: FleetRepository, path: Path, version: str, group: Group) -> str:
    """Publish a configuration for `group`; returns its target path."""
    index = repository.index()
    existing = next((known for known in index.groups if known.name == group.name), None)
    track = existing.track if existing is not None else Track()
    _newer(version, track, config_version)
    text = path.read_bytes()
    check_config(path)
    target = f"config/{hashlib.sha256(group.name.encode()).hexdigest()[:12]}/{version}.yaml"
    released = group.model_copy(update={"track": _release(track, target, group.name)})
    repository.publish(index.with_group(released), {target: (text, {"version": version, "group": group.name})})
    return target


def track_of(index: FleetIndex, name: str) -> Track:
    """The agent track (`agent`) or a configuration group's track, by name; CoreError if unknown."""
    if name == "agent":
        return index.agent
    for group in index.groups:
        if group.name == name:
            return group.track
    known = ", ".join(["agent", *(group.name for group in index.groups)])
    raise CoreError.one("", "--track", name, f"is not published (known: {known})")


def with_track(index: FleetIndex, name: str, track: Track) -> FleetIndex:
    """A copy of the index with the named track replaced."""
    if name == "agent":
        return index.model_copy(update={"agent": track})
    group = next(group for group in index.groups if group.name == name)
    return index.with_group(group.model_copy(update={"track": track}))
