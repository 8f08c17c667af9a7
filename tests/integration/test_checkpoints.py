"""Signed checkpoints: each test is an insider with write access to the database, and each is caught and named."""

from __future__ import annotations

import base64
import dataclasses
import json
import os

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, func, select

from engine.audit import history, verify_case, verify_store
from engine.checkpoints import (
    Checkpoint,
    CheckpointError,
    CheckpointKey,
    check_proof,
    create_checkpoint,
    prove_event,
    verify_checkpoints,
)
from engine.config import ConfigurationError
from engine.rebuild import rebuild
from engine.service import Casework, CommandResult
from engine.tables import case_index, checkpoint_frontier, checkpoint_leaves, checkpoints
from tests.integration.scenarios import MEDIATOR, file_dispute
from tests.integration.tamper import delete_events, flip_byte, rewrite_event, swap_events, swap_notification_ids


def _dispute(cw: Casework, clock) -> CommandResult:
    """A case of three events."""
    opened = file_dispute(cw)
    clock.advance(hours=1)
    cw.execute(opened.case_id, "accept", MEDIATOR)
    clock.advance(hours=1)
    cw.execute(opened.case_id, "withdraw", MEDIATOR, reason="自行和解")
    return opened


@pytest.fixture
def key(cw: Casework) -> CheckpointKey:
    return CheckpointKey(cw.settings)


@pytest.fixture
def three_cases(cw: Casework, clock, key: CheckpointKey) -> list[CommandResult]:
    """Three cases of three events each (9 events), the first two under checkpoint 1, all under checkpoint 2."""
    cases = [_dispute(cw, clock), _dispute(cw, clock)]
    create_checkpoint(cw.sql_engine, key)
    cases.append(_dispute(cw, clock))
    create_checkpoint(cw.sql_engine, key)
    return cases


def _verify(cw: Casework, **kwargs):
    return verify_checkpoints(cw.sql_engine, number_of=cw.store.case_number, **kwargs)


def test_an_untouched_store_verifies_and_each_checkpoint_reads_only_the_new_events(
    cw: Casework, clock, key: CheckpointKey
) -> None:
    first = _dispute(cw, clock)
    one, added = create_checkpoint(cw.sql_engine, key)
    assert (one.tree_size, added) == (3, 3)
    assert one.signature_problem(key.public) is None
    # Changed behind the tree's edge: a new checkpoint does not read it again (it reads only the new events) ...
    flip_byte(cw, first.case_id, 2)
    _dispute(cw, clock)
    two, added = create_checkpoint(cw.sql_engine, key)
    assert (two.tree_size, added) == (6, 3)
    with cw.read_transaction() as session:
        assert session.execute(select(func.count()).select_from(checkpoint_leaves)).scalar_one() == 6
        assert session.execute(select(checkpoint_frontier.c.tree_size)).scalar_one() == 6
    empty, added = create_checkpoint(cw.sql_engine, key)
    assert (empty.tree_size, empty.root_hash, added) == (6, two.root_hash, 0)
    # ... and the verification, which recomputes the whole tree, finds it.
    result = _verify(cw, pinned=key.public)
    assert not result.ok and result.first_bad_checkpoint == one.id
    assert result.first_changed is not None
    assert (result.first_changed.case_id, result.first_changed.version) == (first.case_id, 2)


def test_the_untouched_store_passes(cw: Casework, three_cases, key: CheckpointKey) -> None:
    result = _verify(cw, pinned=key.public)
    assert result.ok, result.problems
    assert (result.checkpoints, result.events) == (2, 9)


def test_a_changed_byte_in_a_stored_event_is_named(cw: Casework, three_cases, key: CheckpointKey) -> None:
    target = three_cases[1]
    flip_byte(cw, target.case_id, 3)
    result = _verify(cw, pinned=key.public)
    assert not result.ok and result.first_bad_checkpoint == 1
    assert result.first_changed is not None
    assert (result.first_changed.number, result.first_changed.version) == (target.number, 3)
    assert f"{target.number}" in result.problems[0] and "v3" in result.problems[0]


def test_a_rewritten_event_with_its_chain_recomputed_passes_the_case_check_but_not_the_checkpoints(
    cw: Casework, three_cases, key: CheckpointKey
) -> None:
    target = three_cases[0]
    rewrite_event(cw, target.case_id, 2, actor_id="someone-else")
    assert history(cw, target.number)[1].actor_id == "someone-else"
    assert verify_case(cw, target.number).ok  # the chain and the case index's head agree with the rewrite
    assert verify_store(cw).ok
    result = _verify(cw, pinned=key.public)
    assert not result.ok and result.first_bad_checkpoint == 1
    assert result.first_changed is not None
    assert (result.first_changed.case_id, result.first_changed.version) == (target.case_id, 2)


def test_a_deleted_tail_with_the_read_models_rebuilt_is_named(cw: Casework, three_cases, key: CheckpointKey) -> None:
    last = three_cases[2]
    delete_events(cw, last.case_id, 3)
    rebuild(cw)
    assert verify_store(cw).ok  # the case index now ends where the events do
    result = _verify(cw, pinned=key.public)
    assert not result.ok and result.first_bad_checkpoint == 2
    assert result.found_instead is None and result.first_changed is not None
    assert (result.first_changed.case_id, result.first_changed.version) == (last.case_id, 3)
    assert any("covers 9 events but the store has 8" in p for p in result.problems)


def test_a_deleted_case_is_named(cw: Casework, three_cases, key: CheckpointKey) -> None:
    gone = three_cases[0]
    delete_events(cw, gone.case_id)
    with cw.write_transaction() as session:
        session.execute(delete(case_index).where(case_index.c.case_id == gone.case_id))
    assert verify_store(cw).ok
    result = _verify(cw, pinned=key.public)
    assert not result.ok and result.first_bad_checkpoint == 1
    assert result.first_changed is not None
    assert (result.first_changed.case_id, result.first_changed.version) == (gone.case_id, 1)
    assert result.found_instead is not None and result.found_instead.case_id == three_cases[1].case_id


def test_events_of_two_cases_swapped_in_the_recording_order_are_named(
    cw: Casework, three_cases, key: CheckpointKey
) -> None:
    a, b = three_cases[0], three_cases[1]
    swap_notification_ids(cw, (a.case_id, 3), (b.case_id, 1))
    assert verify_store(cw).ok  # each case's own order is unchanged
    result = _verify(cw, pinned=key.public)
    assert not result.ok and result.first_bad_checkpoint == 1
    assert result.first_changed is not None and result.found_instead is not None
    assert (result.first_changed.case_id, result.first_changed.version) == (a.case_id, 3)
    assert (result.found_instead.case_id, result.found_instead.version) == (b.case_id, 1)


def test_two_versions_of_a_case_swapped_are_named(cw: Casework, three_cases, key: CheckpointKey) -> None:
    target = three_cases[2]
    swap_events(cw, target.case_id, 2, 3)
    result = _verify(cw, pinned=key.public)
    assert not result.ok and result.first_bad_checkpoint == 2
    assert result.first_changed is not None
    assert (result.first_changed.case_id, result.first_changed.version) == (target.case_id, 2)


def _replace_checkpoints(cw: Casework) -> CheckpointKey:
    """What an insider without the signing key can do: empty the checkpoint tables and sign anew with a key of
    their own."""
    with cw.write_transaction() as session:
        for table in (checkpoints, checkpoint_leaves, checkpoint_frontier):
            session.execute(delete(table))
    own = base64.b64encode(Ed25519PrivateKey.generate().private_bytes_raw()).decode()
    forger = CheckpointKey(dataclasses.replace(cw.settings, checkpoint_key=own))
    create_checkpoint(cw.sql_engine, forger)
    return forger


def test_a_replaced_and_resigned_checkpoint_table_is_caught_by_the_exported_checkpoint_and_the_pinned_key(
    cw: Casework, three_cases, key: CheckpointKey, tmp_path
) -> None:
    with cw.read_transaction() as session:
        exported = session.execute(select(checkpoints).order_by(checkpoints.c.id.desc())).first()
    assert exported is not None
    kept = tmp_path / "kept.json"
    kept.write_text(json.dumps(Checkpoint(**exported._asdict()).export()))
    rewrite_event(cw, three_cases[0].case_id, 2, actor_id="someone-else")
    forger = _replace_checkpoints(cw)
    assert _verify(cw).ok  # self-consistent: only something from outside the database tells
    against = Checkpoint.from_export(json.loads(kept.read_text()))
    result = _verify(cw, against=against)
    assert not result.ok
    assert any("exported checkpoint's root is not the events' root" in p for p in result.problems)
    assert any(f"signed with key {forger.key_id}, not key {against.key_id}" in p for p in result.problems)
    assert result.first_bad_checkpoint is not None
    pinned = _verify(cw, pinned=key.public)
    assert not pinned.ok and "not the trusted key" in pinned.problems[0]


def test_a_forged_signature_is_named(cw: Casework, three_cases, key: CheckpointKey) -> None:
    rewrite_event(cw, three_cases[2].case_id, 2, actor_id="someone-else")
    # The insider recomputes the tree over the rewritten events and writes the new root into the last checkpoint.
    with cw.write_transaction() as session:
        session.execute(delete(checkpoint_leaves))
        session.execute(delete(checkpoint_frontier))
    honest, _ = create_checkpoint(cw.sql_engine, key)  # (what the insider cannot do: sign; used here for the root)
    with cw.write_transaction() as session:
        session.execute(delete(checkpoints).where(checkpoints.c.id == honest.id))
        session.execute(checkpoints.update().where(checkpoints.c.id == 2).values(root_hash=honest.root_hash))
    result = _verify(cw, pinned=key.public)
    assert not result.ok and result.first_bad_checkpoint == 2
    assert result.problems == ["checkpoint 2: its signature does not verify"]


def test_an_inclusion_proof_verifies_on_its_own_and_fails_for_a_changed_event(
    cw: Casework, three_cases, key: CheckpointKey
) -> None:
    target = three_cases[1]
    proof = json.loads(json.dumps(prove_event(cw.sql_engine, target.case_id, 2)))
    exported = Checkpoint.from_export(proof["checkpoint"])
    assert exported.tree_size == 9
    assert check_proof(proof, checkpoint=exported, public_key=key.public) == exported
    changed = json.loads(json.dumps(proof))
    state = bytearray(base64.b64decode(changed["event"]["state"]))
    state[state.index(b'"actor_id":"') + 12] ^= 1
    changed["event"]["state"] = base64.b64encode(bytes(state)).decode()
    with pytest.raises(CheckpointError, match="not in the checkpoint's tree"):
        check_proof(changed, checkpoint=exported, public_key=key.public)
    other = Ed25519PrivateKey.generate().public_key()
    with pytest.raises(CheckpointError, match="not the trusted key"):
        check_proof(proof, public_key=other)
    flip_byte(cw, target.case_id, 2)
    with pytest.raises(CheckpointError, match="no longer matches"):
        prove_event(cw.sql_engine, target.case_id, 2)


def test_the_signing_key_file_is_private_and_refused_when_others_may_read_it(cw: Casework, key) -> None:
    public = key.public
    assert os.stat(key.path).st_mode & 0o777 == 0o600
    assert CheckpointKey(cw.settings).public.public_bytes_raw() == public.public_bytes_raw()
    os.chmod(key.path, 0o640)
    with pytest.raises(ConfigurationError, match="chmod 600"):
        _ = CheckpointKey(cw.settings).private
