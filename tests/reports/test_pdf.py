"""The PDF: pages render to PNG, every font embedded, no English left in ru and kk, every Kazakh letter kept."""

from __future__ import annotations

import re
import subprocess

import pytest

from reports.pdf import write_pdf
from tests.helpers.tools import require_tool

KAZAKH_LETTERS = "әғқңөұүһіӘҒҚҢӨҰҮҺІ"
# Names that stay as they are in every language (an initiative, a protocol, a time zone).
PROPER_NAMES = {"Giga", "ndt", "UTC"}


def _text(pdf) -> str:
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout


def _fonts(pdf) -> list[str]:
    lines = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()
    return lines[2:]


@pytest.mark.parametrize("language", ["ru", "kk"])
def test_pages_render_and_no_english_is_left(written, fleet, tmp_path, language) -> None:
    require_tool("pdftoppm")
    report = written[language]
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(report.pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 4
    text = _text(report.pdf)
    data = " ".join(f"{s.school_id} {s.name} {s.district} {s.isp}" for s in fleet.registry)
    data_words = set(re.findall(r"[A-Za-z]+", data))
    english = set(re.findall(r"[A-Za-z]{3,}", text)) - data_words - PROPER_NAMES
    assert english == set()
    assert "\ufffd" not in text
    fonts = _fonts(report.pdf)
    assert fonts and all(" yes " in line for line in fonts)        # every font embedded (a subset)


def test_every_kazakh_letter_survives_the_pdf(tmp_path) -> None:
    require_tool("pdftotext")
    path = tmp_path / "letters.pdf"
    write_pdf(f'<html lang="kk"><body><p>{KAZAKH_LETTERS}</p></body></html>', path)
    assert KAZAKH_LETTERS in _text(path).replace(" ", "")
    assert all(" yes " in line for line in _fonts(path))


def test_the_summary_comes_first(written) -> None:
    first_page = _text(written["kk"].pdf).split("\f")[0]
    assert "Негізгі қорытындылар" in first_page
    assert "Әдістер мен анықтамалар" not in first_page
