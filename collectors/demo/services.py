"""The demo's long-running services on loopback: the collector (in this process, on a thread of its own),
the ndt7 server and the platform simulator (each its own process, as in production).

`Services` remembers their URLs in `services.json` as each starts, and `stop()` ends them all.
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from collectors.api import IngestSettings
from collectors.demo.children import Children, cli, free_port
from collectors.server import CollectorThread, start_in_thread
from collectors.settings import CollectorSettings
from probes.ndt7.tokens import PUBLIC_KEY_FILE, SIGNING_KEY_FILE, generate_key_pair

DAY_SECONDS = 86_400


NDT7_NAME = "demo-ndt7"      # the ndt7 server's name in the probes' list: its tokens' audience


@dataclass
class Services:
    """What runs: the collector handle, the children, and the URLs (by name) written to services.json."""

    out: Path
    children: Children
    collector: CollectorThread | None = None
    urls: dict[str, str] = field(default_factory=dict)

    @property
    def db(self) -> str:
        """The collector's SQLite store."""
        return str(self.out / "collector.sqlite3")

    def remember(self, name: str, url: str) -> None:
        """Record a service's URL (services.json is rewritten at once: a test reads it even after Ctrl-C)."""
        self.urls[name] = url
        (self.out / "services.json").write_text(json.dumps(self.urls, indent=2), encoding="utf-8")

    def start_collector(self, registry: Path, history_days: int) -> CollectorThread:
        """The collector on a free loopback port: the demo's store and registry, the shipped policy, batches
        stored in the API process, verdicts and roll-ups every two seconds, and latest values exported for
        as long as the simulated history reaches back."""
        signing_key, _ = self.ndt7_keys()
        settings = CollectorSettings(db=self.db, port=0, registry=registry, ingest_workers=0,
                                     ingest=IngestSettings(ndt7_signing_key=signing_key),
                                     max_age_seconds=(history_days + 1) * DAY_SECONDS, verdict_every_seconds=2.0,
                                     maintenance_every_seconds=2.0)
        self.collector = start_in_thread(settings)
        self.remember("collector", self.collector.url)
        self.remember("collector_metrics", self.collector.metrics_url)
        self.remember("collector_docs", f"{self.collector.url}/docs")
        return self.collector

    def ndt7_keys(self) -> tuple[Path, Path]:
        """The demo's ndt7 access-token key pair (private, public), made once per output folder: the collector
        signs each live probe's tokens, the ndt7 server verifies them offline, as in production."""
        directory = self.out / "keys"
        private, public = directory / SIGNING_KEY_FILE, directory / PUBLIC_KEY_FILE
        if not (private.exists() and public.exists()):
            generate_key_pair(directory)
        return private, public

    def start_ndt7(self, seconds: float = 60.0) -> str:
        """`mektepnet ndt7 serve` on a free port; its ws:// URL (the server writes it once it listens)."""
        url_file = self.out / "logs" / "ndt7.url"
        # Tokens signed by the collector for this server's name; the limit is per verified probe, raised from
        # the production 60 tests an hour because a live probe here tests every few seconds.
        process = self.children.start("ndt7", cli("ndt7", "serve", "--port", "0", "--url-file", str(url_file),
                                                  "--token-public-key", str(self.ndt7_keys()[1]),
                                                  "--token-audience", NDT7_NAME, "--tests-per-token-per-hour", "3600"))
        deadline = time.monotonic() + seconds
        while not (url_file.exists() and url_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the ndt7 server did not start; see {self.children.logs / 'ndt7.log'}")
            time.sleep(0.1)
        url = url_file.read_text().strip()
        self.remember("ndt7", url)
        self.remember("ndt7_metrics", url.replace("ws", "http", 1) + "/metrics")
        return url

    def start_platform_simulator(self) -> str:
        """`mektepnet platform-sim serve` on a free port; its base URL once it accepts connections."""
        port = free_port()
        process = self.children.start("platform-sim", cli("platform-sim", "serve", "--port", str(port)))
        self.children.wait_listening(process, port, "platform-sim")
        self.remember("platform_simulator", f"http://127.0.0.1:{port}")
        return self.urls["platform_simulator"]

    def collector_metrics(self) -> str:
        """The collector's /metrics page as Prometheus reads it."""
        with urllib.request.urlopen(self.collector.metrics_url, timeout=30) as answer:
            return answer.read().decode("utf-8")

    def stop(self) -> None:
        """Stop every child, then the collector; safe to call twice."""
        self.children.stop_all()
        if self.collector is not None:
            self.collector.stop()
