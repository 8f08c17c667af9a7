"""Tampering with a real event store, as someone with write access to the database could (and rewriting an event
as older code would have written it)."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from sqlalchemy import text, update

from aggregates.chain import event_hash
from engine.integrity import NOT_STATE
from engine.service import Casework
from engine.tables import case_index


def _uuid(value: Any) -> UUID:
    if isinstance(value, UUID):
        return value
    return UUID(bytes=bytes(value)) if isinstance(value, (bytes, memoryview)) else UUID(str(value))


def _row_ids(cw: Casework, case_id: UUID) -> dict[int, int]:
    """{version: row id} of one case's stored events (the id column's type differs between databases)."""
    with cw.read_transaction() as session:
        rows = session.execute(text("select id, originator_id, originator_version from casework_events"))
        return {r.originator_version: r.id for r in rows if _uuid(r.originator_id) == case_id}


def delete_events(cw: Casework, case_id: UUID, *versions: int) -> None:
    """Remove these versions of the case's events (none named: every one)."""
    ids = _row_ids(cw, case_id)
    with cw.write_transaction() as session:
        for version in versions or list(ids):
            session.execute(text("delete from casework_events where id = :i"), {"i": ids[version]})


def swap_events(cw: Casework, case_id: UUID, a: int, b: int) -> None:
    """Give versions `a` and `b` of the case each other's place."""
    ids = _row_ids(cw, case_id)
    update = text("update casework_events set originator_version = :v where id = :i")
    with cw.write_transaction() as session:
        session.execute(update, {"v": -1, "i": ids[a]})
        session.execute(update, {"v": a, "i": ids[b]})
        session.execute(update, {"v": b, "i": ids[a]})


def flip_byte(cw: Casework, case_id: UUID, version: int, field: bytes = b'"actor_id":"') -> None:
    """Change one byte of an unencrypted event's JSON, inside a string value, so the JSON stays valid."""
    row_id = _row_ids(cw, case_id)[version]
    with cw.write_transaction() as session:
        state = bytes(
            session.execute(text("select state from casework_events where id = :i"), {"i": row_id}).scalar_one()
        )
        at = state.index(field) + len(field)
        tampered = state[:at] + bytes([state[at] ^ 0x01]) + state[at + 1 :]
        session.execute(text("update casework_events set state = :s where id = :i"), {"s": tampered, "i": row_id})


def rehash_last_event(cw: Casework, case_id: UUID) -> None:
    """Give the case's last stored (unencrypted) event the hash of its content as it now stands, and the case index
    that head: the event as older code would have written it (an old event format), not a tampered one."""
    version, row_id = max(_row_ids(cw, case_id).items())
    with cw.write_transaction() as session:
        topic, state = session.execute(
            text("select topic, state from casework_events where id = :i"), {"i": row_id}
        ).one()
        stored = json.loads(bytes(state))
        fields = {k: v for k, v in cw.store.mapper.transcoder.decode(bytes(state)).items() if k not in NOT_STATE}
        stored["hash"] = event_hash(
            topic.split(":", 1)[-1], {**fields, "originator_id": case_id, "originator_version": version}
        )
        session.execute(
            text("update casework_events set state = :s where id = :i"),
            {"s": json.dumps(stored, ensure_ascii=False).encode(), "i": row_id},
        )
        session.execute(update(case_index).where(case_index.c.case_id == case_id).values(head_hash=stored["hash"]))


def rewrite_event(cw: Casework, case_id: UUID, version: int, **changes: Any) -> None:
    """Change fields of an unencrypted event and recompute its hash and every later hash of its chain, and the case
    index's head: an insider who knows how the chain is made, which the case's own verification cannot see."""
    prev_hash: str | None = None
    with cw.write_transaction() as session:
        for v, row_id in sorted(_row_ids(cw, case_id).items()):
            if v < version:
                continue
            topic, state = session.execute(
                text("select topic, state from casework_events where id = :i"), {"i": row_id}
            ).one()
            stored = json.loads(bytes(state))
            if v == version:
                stored.update(changes)
            else:
                stored["prev_hash"] = prev_hash
            raw = json.dumps(stored, ensure_ascii=False).encode()
            fields = {k: val for k, val in cw.store.mapper.transcoder.decode(raw).items() if k not in NOT_STATE}
            stored["hash"] = prev_hash = event_hash(
                topic.split(":", 1)[-1], {**fields, "originator_id": case_id, "originator_version": v}
            )
            session.execute(
                text("update casework_events set state = :s where id = :i"),
                {"s": json.dumps(stored, ensure_ascii=False).encode(), "i": row_id},
            )
        session.execute(update(case_index).where(case_index.c.case_id == case_id).values(head_hash=prev_hash))


def swap_notification_ids(cw: Casework, first: tuple[UUID, int], second: tuple[UUID, int]) -> None:
    """Give two events (case id, version) each other's place in the recording order."""
    a, b = _row_ids(cw, first[0])[first[1]], _row_ids(cw, second[0])[second[1]]
    move = text("update casework_events set id = :new where id = :old")
    with cw.write_transaction() as session:
        session.execute(move, {"new": -1, "old": a})
        session.execute(move, {"new": a, "old": b})
        session.execute(move, {"new": b, "old": -1})


TAMPERINGS = {
    "deleted": lambda cw, case_id: delete_events(cw, case_id, 2),
    "swapped": lambda cw, case_id: swap_events(cw, case_id, 2, 3),
    "altered": lambda cw, case_id: flip_byte(cw, case_id, 2),
}
"""Three ways to break a case of at least three events, each first wrong at version 2."""
