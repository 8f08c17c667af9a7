"""Every name the workspace shows is in the reader's language: stages from the stage tables' own bilingual labels,
actions, command fields and clocks from the terms catalog."""

from __future__ import annotations

import pytest
from babel.messages.pofile import read_po

from aggregates.fields import Choice
from aggregates.shapes import SHAPES
from engine.catalogue import catalogue, shape_parts
from engine.names import CATALOG
from engine.registry import CASE_TYPES
from engine.service import Actor
from tests.integration.scenarios import file_dispute
from tests.web.conftest import WebWorld

CLOCKS = (
    *("acceptance", "mediation", "performance", "filing", "objection", "proposal_reply", "reply", "review"),
    *("verification", "renewal", "term_end"),
)


def _terms() -> set[tuple[str | None, str]]:
    with CATALOG.open("rb") as source:
        return {(m.context, str(m.id)) for m in read_po(source) if m.id and m.string}


def test_every_action_field_part_choice_kind_and_clock_has_a_chinese_name() -> None:
    named = _terms()
    actions = {("action", a) for cls in CASE_TYPES.values() for a in cls.TABLE.actions}
    params = [p for actions_ in catalogue().values() for ps in actions_.values() for p in ps]
    parts = [part for shape in SHAPES for part in shape_parts(shape)]
    fields = {("field", p.name) for p in params + parts}
    choices = {("choice", c) for p in params + parts for m in p.metadata if isinstance(m, Choice) for c in m.choices}
    kinds = {("kind", kind) for kind in CASE_TYPES}
    clocks = {("clock", c) for c in CLOCKS}
    wanted = actions | fields | choices | kinds | clocks
    assert wanted <= named, sorted(wanted - named)


@pytest.mark.parametrize("kind", sorted(CASE_TYPES))
def test_every_stage_label_is_a_chinese_name_and_an_english_description(kind: str) -> None:
    for stage, label in CASE_TYPES[kind].TABLE.stages.items():
        chinese, _, english = label.partition(" ")
        assert chinese and not chinese.isascii() and english and english.isascii(), (stage, label)


def test_names_follow_the_readers_language(web: WebWorld) -> None:
    number = file_dispute(web.cw, Actor("gusu-mediator", "mediator")).number
    browser = web.signed_in("gusu-mediator")
    chinese = browser.get(f"/case/{number}").get_data(as_text=True)
    assert '<dd class="stage">申请</dd>' in chinese and ">受理</a>" in chinese and "受理期限" in chinese
    browser.post_form("/", "/language", {"lang": "en"})
    english = browser.get(f"/case/{number}").get_data(as_text=True)
    assert '<dd class="stage">filed, awaiting acceptance</dd>' in english and ">accept</a>" in english
    assert "acceptance: Mar 5, 2026" in english and "受理" not in english
    form = browser.get(f"/case/{number}/add_note").get_data(as_text=True)
    assert "<h1>add note</h1>" in form and ">text *</label>" in form
