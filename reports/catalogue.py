"""The messages the report uses, extracted from its code and template with Babel (for the catalogue checks)."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

KEYWORDS = {"_": None, "gettext": None, "N_": None, "ngettext": (1, 2)}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
OPTIONS = {"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


def messages(root: Path | None = None) -> dict[str, str | None]:
    """Every message id of `reports/` -> its plural id (None for a message without plural)."""
    root = root or Path(__file__).parent
    found: dict[str, str | None] = {}
    for _, _, message, _, _ in extract_from_dir(str(root), METHODS, OPTIONS, KEYWORDS):
        if isinstance(message, tuple):
            found[message[0]] = message[1]
        else:
            found.setdefault(message, None)
    return found
