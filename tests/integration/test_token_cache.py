"""engine.tokens: the marker cached token look-ups are checked against moves with every account change, in the
order the changes commit, so no change can hide behind one that committed before it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.accounts import _record, add_org, add_user, rotate_token, set_active
from engine.config import ConfigurationError, Settings
from engine.service import Actor, Casework
from engine.tables import account_changes
from engine.tokens import TokenCache, accounts_marker

ADMIN = Actor("city-admin", "admin")


@pytest.fixture
def two_users(cw: Casework) -> Iterator[dict[str, str]]:
    add_org(cw, "suzhou", "苏州市总工会")
    yield {user_id: add_user(cw, user_id, user_id, "mediator", "suzhou", by=ADMIN)[1] for user_id in ("u-1", "u-2")}


def marker(cw: Casework) -> int | None:
    with cw.read_transaction() as session:
        return accounts_marker(session)


def test_every_change_to_an_account_moves_the_marker(cw: Casework, two_users: dict[str, str]) -> None:
    seen = [marker(cw)]
    rotate_token(cw, "u-1", by=ADMIN)
    seen.append(marker(cw))
    set_active(cw, "u-2", False, by=ADMIN)
    seen.append(marker(cw))
    numbers = [m for m in seen if m is not None]
    assert len(numbers) == 3 and numbers == sorted(set(numbers)), seen


def test_a_change_waits_for_the_one_before_to_commit_so_the_newest_mark_follows_commit_order(
    cw: Casework, two_users: dict[str, str]
) -> None:
    """Two changes to two different users: the second one's append waits until the first has committed (on
    PostgreSQL for the record's lock, on SQLite for the database's write lock), so its `seq` is the larger. Were
    they taken in the order asked and committed in another, a reader could take the second's number as the marker
    while the first, with a smaller one, was still to commit."""
    first_recorded, release = threading.Event(), threading.Event()

    def first() -> None:
        with cw.write_transaction() as session:
            _record(session, "u-1", "token_issued", {}, ADMIN, cw.clock.now())
            first_recorded.set()
            release.wait(30)

    holder = threading.Thread(target=first)
    holder.start()
    assert first_recorded.wait(30)
    second = threading.Thread(target=set_active, args=(cw, "u-2", False), kwargs={"by": ADMIN})
    second.start()
    second.join(0.5)
    blocked = second.is_alive()
    before_second = marker(cw)  # the first has not committed: the marker is still what it was
    release.set()
    holder.join(30)
    second.join(30)
    assert blocked and not second.is_alive()
    newest = select(account_changes.c.seq, account_changes.c.user_id).order_by(account_changes.c.seq.desc()).limit(2)
    with cw.read_transaction() as session:
        rows = session.execute(newest).all()
    assert [r.user_id for r in rows] == ["u-2", "u-1"]  # the later commit has the larger seq
    assert before_second is not None and before_second < rows[1].seq


def test_a_full_cache_lets_its_oldest_entry_go(cw: Casework, two_users: dict[str, str]) -> None:
    cache = TokenCache(30, max_entries=1)

    def holder(token: str) -> str | None:
        user = cache.authenticate(cw, token)
        return user.user_id if user else None

    assert [holder(two_users["u-1"]), holder(two_users["u-2"])] == ["u-1", "u-2"]
    assert len(cache) == 1
    assert holder(two_users["u-1"]) == "u-1" and len(cache) == 1
    assert holder("not-a-token") is None and holder("cw_unknown") is None and len(cache) == 1


@pytest.mark.parametrize("value", ["-1", "3601", "half a minute"])
def test_a_time_to_live_out_of_range_is_refused_naming_the_setting(tmp_path: Path, value: str) -> None:
    env = {"CASEWORK_DATA_DIR": str(tmp_path), "CASEWORK_TOKEN_CACHE_SECONDS": value}
    with pytest.raises(ConfigurationError, match="CASEWORK_TOKEN_CACHE_SECONDS"):
        Settings.from_env(env)
    assert Settings.from_env({**env, "CASEWORK_TOKEN_CACHE_SECONDS": "0"}).token_cache_seconds == 0
