"""Names of stages, actions, clocks and fields in the reader's language.

A stage is named by its stage table, whose label is its Chinese name, a space, and its English description
(`"受理 accepted"`): the workspace shows the part of the reader's language. Actions, fields and clocks are named
in the engine's catalog of names (`engine/names/zh_CN.po`, contexts `action`, `field`, `clock`, ...); a name it lacks
reads as its key with spaces.
"""

from __future__ import annotations

import re

from flask import Flask
from flask_babel import get_locale, gettext, pgettext

from engine.registry import CASE_TYPES

_ITEM_CLOCK = re.compile(r"^item-(\d+)$")


def _chinese() -> bool:
    locale = get_locale()
    return locale is not None and locale.language == "zh"


def stage_name(kind: str, stage: str) -> str:
    """Stage `stage` of case type `kind`, in the reader's language."""
    label = CASE_TYPES[kind].TABLE.stages.get(stage) if kind in CASE_TYPES else None
    if label is None:
        return stage.replace("_", " ")
    chinese, _, english = label.partition(" ")
    return chinese if _chinese() else english or chinese


def term(context: str, key: str) -> str:
    """The name of an action, field or clock (`context`) in the reader's language."""
    if context == "clock" and (item := _ITEM_CLOCK.match(key)):
        return gettext("item %(n)s deadline", n=int(item.group(1)))
    translated = pgettext(context, key)
    return key.replace("_", " ") if translated == key else translated


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(stage_name=stage_name, term=term)
