"""The HTML: self-contained, opens in headless Chromium without console errors, and a screenshot is taken."""

from __future__ import annotations

import re
import subprocess

from tests.helpers.tools import require_tool


def test_self_contained_with_charts_embedded(written) -> None:
    html = written["ru"].html.read_text(encoding="utf-8")
    sources = re.findall(r'src="([^"]+)"', html)
    assert len(sources) == 4 and all(source.startswith("data:image/svg+xml;base64,") for source in sources)
    assert not re.search(r'(href|src)="(http|//)', html)
    assert '<html lang="ru">' in html


def test_opens_in_headless_chromium_without_console_errors(written, tmp_path) -> None:
    chromium = require_tool("chromium")
    shot = tmp_path / "report.png"
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
         "--window-size=1200,3000", f"--screenshot={shot}", written["kk"].html.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if "CONSOLE" in line or "Uncaught" in line]
    assert console == []
    assert shot.stat().st_size > 10_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
