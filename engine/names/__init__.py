"""The Chinese names of what the engine's codes stand for: case types, stages' actions, fields and their parts,
choices, clocks, flags and channels (`zh_CN.po`, contexts `kind`, `action`, `field`, `choice`, `clock`, `flag`,
`channel`). One catalog serves every place a person reads them: the workspace merges it into its translations,
and the notifications, exports and PDF dossier name things from it, so a case type is called the same on screen,
in a message, in a spreadsheet and on paper. It is kept by hand: no source string holds these names.
"""

from __future__ import annotations

import functools
from pathlib import Path

CATALOG = Path(__file__).with_name("zh_CN.po")


@functools.cache
def chinese_names() -> dict[tuple[str, str], str]:
    """Every (context, code) the catalog names, with its Chinese name."""
    from babel.messages.pofile import read_po

    with CATALOG.open("rb") as source:
        return {(str(m.context), str(m.id)): str(m.string) for m in read_po(source) if m.id and m.string}


def chinese(context: str, code: str) -> str:
    """The Chinese name of `code` in `context` (`kind`, `action`, `field`, `clock`, ...), or the code with spaces
    for one the catalog does not name."""
    return chinese_names().get((context, code), code.replace("_", " "))
