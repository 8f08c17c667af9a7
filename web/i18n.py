"""Translations: Chinese (zh-CN) by default, English by choice, the choice kept in the session.

The strings in code and templates are English; `translations/zh_CN/LC_MESSAGES/messages.po` translates them. The
catalog is compiled in memory from the .po file the first time it is needed (babel's own reader and writer), so a
fresh clone needs no compile step and no .mo file is kept. To add strings: `pybabel extract -F web/babel.cfg -o
/tmp/messages.pot web` and `pybabel update -i /tmp/messages.pot -d web/translations`, then translate the new ones.
"""

from __future__ import annotations

from datetime import tzinfo
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, session
from flask_babel import Babel, Domain, get_locale

from engine.names import CATALOG

TRANSLATIONS = Path(__file__).parent / "translations"
LANGUAGES = {"zh_CN": "中文", "en": "English"}
"""The languages a user may choose, by locale, each named in itself."""
DEFAULT_LANGUAGE = "zh_CN"


CATALOGS = ("messages",)
"""messages.po: the strings of web/views.py and its templates (pybabel extract/update keep it), read first. A
screen in a module of its own keeps its strings in a catalog named after it (admin.po for web/admin.py): every
.po file of the language is read. The Chinese names of the engine's codes (case types, actions, fields, clocks,
flags; msgctxt kind, action, field, clock, flag) are the engine's own catalog (`engine.names`), merged last."""
NAMES = CATALOG


def _compiled(po: Path, language: str) -> Translations:
    with po.open("rb") as source:
        messages = read_po(source, locale=language)
    compiled = BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return Translations(compiled)


@cache
def catalog(language: str) -> NullTranslations:
    """The compiled catalogs of `language` (a key of LANGUAGES); English is the strings themselves."""
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    found = [folder / f"{name}.po" for name in CATALOGS if (folder / f"{name}.po").is_file()]
    found += sorted(po for po in folder.glob("*.po") if po.stem not in CATALOGS)
    if language == "zh_CN":
        found.append(NAMES)
    if not found:
        return NullTranslations()
    merged = _compiled(found[0], language)
    for po in found[1:]:
        merged.merge(_compiled(po, language))
    return merged


def chosen_language() -> str:
    """The session's language if it is one of LANGUAGES, else Chinese."""
    language = session.get("lang")
    return language if language in LANGUAGES else DEFAULT_LANGUAGE


class CatalogDomain(Domain):
    """flask-babel's domain, reading our in-memory catalogs instead of .mo files on disk."""

    def get_translations(self) -> NullTranslations:
        locale = get_locale()
        return catalog("zh_CN" if locale is not None and locale.language == "zh" else "en")


def init_app(app: Flask, tz: tzinfo) -> None:
    babel = Babel()
    babel.init_app(
        app,
        default_locale=DEFAULT_LANGUAGE,
        default_timezone=str(tz),
        locale_selector=chosen_language,
    )
    babel.domain_instance = CatalogDomain()  # type: ignore[misc]  # flask-babel caches it as a cached_property
