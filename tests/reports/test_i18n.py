"""Catalogues: every message of the report translated in ru and kk with every plural form; formats per language."""

from __future__ import annotations

from datetime import date

import pytest
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po

from reports.catalogue import messages
from reports.i18n import Language, Words, catalogue_path


@pytest.mark.parametrize("language", [Language.RU, Language.KK])
def test_every_message_is_translated_with_every_plural_form(language) -> None:
    with catalogue_path(language).open("rb") as po:
        catalogue = read_po(po, locale=language.value)
    forms = get_plural(language.value).num_plurals
    used = messages()
    assert len(used) > 100
    missing, incomplete = [], []
    for message_id, plural in used.items():
        entry = catalogue.get(message_id)
        if entry is None or not entry.string:
            missing.append(message_id)
        elif plural is not None and (not isinstance(entry.string, tuple) or len(entry.string) != forms
                                     or not all(entry.string)):
            incomplete.append(message_id)
    assert missing == [] and incomplete == []
    assert not [m.id for m in catalogue if m.id and m.fuzzy]


def test_russian_plural_forms_and_formats() -> None:
    words = Words.of("ru")
    singular, plural = ("{count} school cannot carry a single video lesson at the measured speed.",
                        "{count} schools cannot carry a single video lesson at the measured speed.")
    shown = [words.ngettext(singular, plural, n).format(count=n).split(" не ")[0] for n in (1, 2, 5, 21, 12)]
    assert shown == ["1 школа", "2 школы", "5 школ", "21 школа", "12 школ"]
    assert words.number(1234.5, 1) == "1\u00a0234,5"
    assert words.date(date(2027, 3, 5)) == "05.03.2027"
    assert words.mbps(20e6, 0) == "20\u00a0Мбит/с"
    assert words.number(float("nan")) == "—"


def test_kazakh_names_and_formats() -> None:
    words = Words.of("kk")
    assert words.region("east_kazakhstan") == "Шығыс Қазақстан облысы"
    assert words.gettext("Schools") == "Мектептер"
    assert words.number(1234567.25, 2) == "1\u00a0234\u00a0567,25"
    assert words.date(date(2027, 12, 31)) == "31.12.2027"
    assert Words.of("en").number(1234.5, 1) == "1,234.5"
