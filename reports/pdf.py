"""The report as PDF (weasyprint): the HTML laid out on A4, fonts embedded, tagged for screen readers."""

from __future__ import annotations

from pathlib import Path


def write_pdf(html: str, path: Path) -> None:
    """Lay out `html` and write it to `path`, tagged (PDF/UA structure) with its fonts embedded as subsets."""
    from weasyprint import HTML

    HTML(string=html).write_pdf(path, pdf_tags=True, pdf_variant="pdf/ua-1")
