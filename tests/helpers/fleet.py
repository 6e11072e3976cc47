"""A fleet repository and stub agent wheels for tests: real TUF metadata, real wheels built offline."""

from __future__ import annotations

import base64
import hashlib
import shutil
import zipfile
from pathlib import Path


def stub_wheel(directory: Path, version: str, main: str, name: str = "stubagent") -> Path:
    """Write a real wheel (PEP 427: files, METADATA, WHEEL, RECORD with hashes) of a one-module package whose
    `python -m <name>` runs `main`; pip installs it like any other."""
    dist_info = f"{name}-{version}.dist-info"
    files = {f"{name}/__init__.py": f"VERSION = {version!r}\n", f"{name}/__main__.py": main,
             f"{dist_info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
             f"{dist_info}/WHEEL": "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = [f"{path},sha256={_digest(text.encode())},{len(text.encode())}" for path, text in files.items()]
    files[f"{dist_info}/RECORD"] = "\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n"
    path = directory / "wheels" / f"{name}-{version}-py3-none-any.whl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for member, text in files.items():
            archive.writestr(member, text)
    return path


def _digest(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def install_root(fleet_dir: Path, state_dir: Path) -> None:
    """Install the repository's current root on a probe, as at installation time."""
    metadata = state_dir / "fleet" / "metadata"
    metadata.mkdir(parents=True, exist_ok=True)
    shutil.copy(fleet_dir / "public" / "metadata" / "1.root.json", metadata / "root.json")
