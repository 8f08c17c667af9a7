"""Rebuilding the read models reproduces the inline rows exactly; old event versions are upcast."""

from __future__ import annotations

import json
import uuid

from sqlalchemy import text

from aggregates.hardship import HardshipCase
from engine.audit import history
from engine.demo import load_demo
from engine.rebuild import rebuild
from engine.service import Casework
from engine.tables import READ_MODEL_TABLES
from tests.integration.scenarios import CASEWORKER, get_as, hardship_application
from tests.integration.tamper import rehash_last_event


def dump(cw: Casework) -> dict[str, list[tuple]]:
    tables = {}
    with cw.read_transaction() as session:
        for table in READ_MODEL_TABLES:
            rows = session.execute(table.select()).fetchall()
            tables[table.name] = sorted(tuple(str(v) for v in row) for row in rows)
    return tables


def test_rebuild_produces_exactly_the_rows_the_inline_path_produced(cw: Casework, settings) -> None:
    load_demo(settings, size=1, seed=3)
    inline = dump(cw)
    assert len(inline["case_index"]) > 40 and inline["case_statistics"] and inline["open_clocks"]
    report = rebuild(cw, page_size=37)  # pages that split cases across batches
    assert report.events == cw.store.recorder.max_notification_id()
    assert dump(cw) == inline


def test_rebuild_after_losing_the_read_model(cw: Casework, settings) -> None:
    load_demo(settings, size=1, seed=5)
    inline = dump(cw)
    with cw.write_transaction() as session:
        session.execute(text("delete from case_index"))
        session.execute(text("delete from case_statistics"))
    rebuild(cw)
    assert dump(cw) == inline


def test_an_old_hardship_event_stored_as_version_1_is_upcast_on_read(cw: Casework) -> None:
    opened = cw.open_case("hardship", CASEWORKER, **hardship_application(category="relative"))
    with cw.write_transaction() as session:
        row = session.execute(text("select id, state from casework_events where originator_version = 1")).one()
        state = json.loads(bytes(row.state))
        assert state.pop("class_version") == 3
        state["data"]["category"] = "困难"  # how version 1 recorded the category
        state["data"]["person_key"] = "5f1c" * 16  # and the keyed hash versions 1 and 2 carried
        session.execute(
            text("update casework_events set state = :s where id = :i"),
            {"s": json.dumps(state, ensure_ascii=False).encode(), "i": row.id},
        )
    rehash_last_event(cw, opened.case_id)  # version 1 code hashed the content it wrote: every read checks that
    case = get_as(cw, opened.case_id, HardshipCase)
    assert case.category == "relative"
    assert not hasattr(case, "person_key") and all("person_key" not in e.data for e in history(cw, opened.case_id))
    assert case.stage == "applied" and isinstance(case.id, uuid.UUID)
