"""A fleet repository and stub agent wheels for tests: real TUF metadata, real wheels built offline."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import zipfile
from pathlib import Path

from tests.helpers.cli import ROOT

PACKAGES = ("core", "probes", "collectors", "loadtests", "dashboards", "reports", "cli")


def stub_wheel(directory: Path, version: str, main: str, name: str = "stubagent") -> Path:
    """Write a real wheel (PEP 427: files, METADATA, WHEEL, RECORD with hashes) of a one-module package whose
    `python -m <name>` runs `main`; pip installs it like any other."""
    return _wheel(directory, name, version, {f"{name}/__init__.py": f"VERSION = {version!r}\n".encode(),
                                             f"{name}/__main__.py": main.encode()})


def agent_wheel(directory: Path, version: str) -> Path:
    """A wheel of this tree's MektepNet (every package of pyproject.toml) that calls itself `version`: the real
    agent, as `mektepnet fleet publish` would ship it, built without a build backend."""
    files = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                files[path.relative_to(ROOT).as_posix()] = path.read_bytes()
    files["core/__init__.py"] = re.sub(rb'__version__ = "[^"]*"', f'__version__ = "{version}"'.encode(),
                                       files["core/__init__.py"])
    return _wheel(directory, "mektepnet", version, files)


def _wheel(directory: Path, name: str, version: str, files: dict[str, bytes]) -> Path:
    dist_info = f"{name}-{version}.dist-info"
    files = {**files, f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
             f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = [f"{path},sha256={_digest(data)},{len(data)}" for path, data in files.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    path = directory / "wheels" / f"{name}-{version}-py3-none-any.whl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def install_root(fleet_dir: Path, state_dir: Path) -> None:
    """Install the repository's current root on a probe, as at installation time."""
    metadata = state_dir / "fleet" / "metadata"
    metadata.mkdir(parents=True, exist_ok=True)
    shutil.copy(fleet_dir / "public" / "metadata" / "1.root.json", metadata / "root.json")
