"""The reader's language: gettext catalogues (Babel), plural rules, numbers, dates and region names.

Catalogues are `reports/locale/<lang>/LC_MESSAGES/report.po`, compiled in memory when loaded (a fresh
install needs no build step); English is the messages' own language.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from importlib import resources

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from core.regions import BY_CODE

DOMAIN = "report"


class Language(StrEnum):
    """A language the report is written in."""

    RU = "ru"
    KK = "kk"
    EN = "en"


def catalogue_path(language: Language):
    """The .po file of a language (a Traversable inside the installed package)."""
    return resources.files("reports").joinpath("locale", language.value, "LC_MESSAGES", f"{DOMAIN}.po")


def load_translations(language: Language) -> NullTranslations:
    """The language's messages, compiled from its .po catalogue; English needs none."""
    if language is Language.EN:
        return NullTranslations()
    with catalogue_path(language).open("rb") as po:
        catalogue = read_po(po, locale=language.value, domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)
    compiled.seek(0)
    return Translations(compiled, domain=DOMAIN)


@dataclass(frozen=True)
class Words:
    """Translations and formats of one language: numbers as `1 234,5` in ru and kk, dates DD.MM.YYYY."""

    language: Language
    translations: NullTranslations

    @classmethod
    def of(cls, language: Language | str) -> "Words":
        """The words of a language."""
        language = Language(language)
        return cls(language, load_translations(language))

    def gettext(self, message: str) -> str:
        """The message in this language."""
        return self.translations.gettext(message)

    def ngettext(self, singular: str, plural: str, count: int) -> str:
        """The plural form for `count` in this language (Russian: 1 школа, 2 школы, 5 школ)."""
        return self.translations.ngettext(singular, plural, count)

    @property
    def locale(self) -> Locale:
        """Babel's locale."""
        return Locale.parse(self.language.value)

    def number(self, value: float | int | None, decimals: int = 0) -> str:
        """A number with grouped thousands ('1 234,5' in ru and kk); a dash when undefined."""
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "—"
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return format_decimal(round(float(value), decimals), pattern, locale=self.locale)

    def percent(self, share: float | None, decimals: int = 1) -> str:
        """A share 0-1 as a percentage ('12,5 %' in ru and kk)."""
        if share is None or not math.isfinite(share):
            return "—"
        return f"{self.number(share * 100, decimals)}\u00a0%"

    def mbps(self, bps: float | None, decimals: int = 1) -> str:
        """bit/s as Mbit/s with the unit in this language."""
        unit = self.gettext("Mbit/s")
        return "—" if bps is None or not math.isfinite(bps) else f"{self.number(bps / 1e6, decimals)}\u00a0{unit}"

    def kbps(self, bps: float | None, decimals: int = 0) -> str:
        """bit/s as kbit/s with the unit in this language."""
        unit = self.gettext("kbit/s")
        return "—" if bps is None or not math.isfinite(bps) else f"{self.number(bps / 1e3, decimals)}\u00a0{unit}"

    def date(self, day: date) -> str:
        """A date: DD.MM.YYYY in ru and kk, ISO in English."""
        return day.isoformat() if self.language is Language.EN else format_date(day, "dd.MM.yyyy", locale=self.locale)

    def region(self, code: str) -> str:
        """A region's name in this language (core.regions)."""
        region = BY_CODE[code]
        return {Language.RU: region.name_ru, Language.KK: region.name_kk, Language.EN: region.name_en}[self.language]
