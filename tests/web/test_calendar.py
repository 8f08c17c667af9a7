"""The case page says when a working-day clock's due date was counted past the official calendar's years (weekends
only), in the reader's language; a due date counted on the official calendar carries no such note."""

from __future__ import annotations

from datetime import datetime

from aggregates.base import DEFAULT_TZ
from engine.service import Actor
from tests.integration.scenarios import file_dispute
from tests.web.conftest import WebWorld

MEDIATOR = Actor("gusu-mediator", "mediator")
NOTE_ZH = "仅按周末推算：该年度的法定节假日安排尚未收录。"
NOTE_EN = "Counted on weekends only: the official holidays of that year are not known yet."


def test_a_due_date_past_the_published_years_is_noted_beside_it(web: WebWorld) -> None:
    # Filed Wed 30 September 2099, a year no State Council notice covers: Thu 1 October (National Day, unpublished,
    # so counted as worked), Fri 2, Mon 5 October.
    web.clock.set(datetime(2099, 9, 30, 9, 0, tzinfo=DEFAULT_TZ))
    number = file_dispute(web.cw, MEDIATOR).number
    browser = web.signed_in("gusu-mediator")
    page = browser.get(f"/case/{number}").get_data(as_text=True)
    assert "受理期限: 2099年10月5日" in page and NOTE_ZH in page
    browser.post_form("/", "/language", {"lang": "en"})
    assert NOTE_EN in browser.get(f"/case/{number}").get_data(as_text=True)


def test_a_due_date_on_the_official_calendar_carries_no_note(web: WebWorld) -> None:
    # Filed Tue 30 September 2025 (国务院办公厅关于2025年部分节假日安排的通知): 1 to 8 October off, Thu 9, Fri 10 and
    # the make-up Sat 11 October worked.
    web.clock.set(datetime(2025, 9, 30, 9, 0, tzinfo=DEFAULT_TZ))
    number = file_dispute(web.cw, MEDIATOR).number
    page = web.signed_in("gusu-mediator").get(f"/case/{number}").get_data(as_text=True)
    assert "受理期限: 2025年10月11日" in page and NOTE_ZH not in page
