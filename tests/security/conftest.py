"""The security suite's front door: a collector behind the shipped nginx configuration, over TLS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from collectors.settings import CollectorSettings
from tests.helpers.collector import collector_thread
from tests.helpers.nginx import Nginx, nginx_in_front


@dataclass(frozen=True)
class Front:
    """nginx in front of a collector: the public URL (via nginx), the collector's own URL and its store."""

    nginx: Nginx
    collector_url: str
    db: Path


@pytest.fixture
def front(tmp_path) -> Front:
    """A SQLite collector in this process behind a real nginx running deploy/nginx/mektepnet-collector.conf."""
    db = tmp_path / "collector.sqlite3"
    with collector_thread(CollectorSettings(db=db)) as url, nginx_in_front(url, tmp_path / "nginx") as nginx:
        yield Front(nginx, url, db)
