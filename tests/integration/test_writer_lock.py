"""SQLite: writers wait for each other on a lock file beside the database, in this process and across processes,
and start as soon as the last one is done; a wait past the busy timeout is SQLite's 'database is locked', and a
killed writer holds nothing."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy.exc

from engine.service import Casework
from engine.writer_lock import NoWriterLock, WriterLock
from tests.integration.scenarios import MEDIATOR, file_dispute

HOLD = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


@pytest.fixture
def sqlite_cw(cw: Casework) -> Casework:
    if cw.sql_engine.dialect.name != "sqlite":
        assert isinstance(cw.writers, NoWriterLock)  # PostgreSQL's writers queue on each case's row lock
        pytest.skip("PostgreSQL's writers take no lock file")
    return cw


def _lock(cw: Casework) -> WriterLock:
    assert isinstance(cw.writers, WriterLock)
    return cw.writers


def _holder(cw: Casework, seconds: float) -> subprocess.Popen[str]:
    """Another process holding the writers' lock for `seconds`."""
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(_lock(cw).path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_command_waits_for_a_writer_of_this_process_and_runs_once_it_commits(sqlite_cw: Casework) -> None:
    cw = sqlite_cw
    opened = file_dispute(cw)
    inside, released = threading.Event(), threading.Event()

    def long_write() -> None:
        with cw.write_transaction():
            inside.set()
            time.sleep(0.3)
            released.set()

    writer = threading.Thread(target=long_write)
    writer.start()
    assert inside.wait(5)
    result = cw.execute(opened.case_id, "add_note", MEDIATOR, text="回访")
    assert released.is_set()  # it waited for the other writer to finish
    writer.join(5)
    assert result.version == 2


def test_a_command_waits_for_a_writer_of_another_process_and_runs_once_it_is_done(sqlite_cw: Casework) -> None:
    cw = sqlite_cw
    opened = file_dispute(cw)
    holder = _holder(cw, 0.5)
    started = time.monotonic()
    result = cw.execute(opened.case_id, "add_note", MEDIATOR, text="回访")
    waited = time.monotonic() - started
    holder.wait(5)
    assert result.version == 2 and waited >= 0.3


def test_a_writer_killed_while_it_holds_the_lock_holds_nothing(sqlite_cw: Casework) -> None:
    cw = sqlite_cw
    opened = file_dispute(cw)
    holder = _holder(cw, 60)
    holder.send_signal(signal.SIGKILL)
    holder.wait(5)
    started = time.monotonic()
    assert cw.execute(opened.case_id, "add_note", MEDIATOR, text="回访").version == 2
    assert time.monotonic() - started < 5


def test_a_wait_past_the_timeout_is_database_is_locked_and_leaves_nothing_held(sqlite_cw: Casework) -> None:
    lock = WriterLock(_lock(sqlite_cw).path.with_suffix(""), timeout=0.2)
    assert lock.path == _lock(sqlite_cw).path
    holder = _holder(sqlite_cw, 0.8)
    with pytest.raises(sqlalchemy.exc.OperationalError, match="database is locked"), lock.held():
        pass
    holder.wait(5)
    # the wait given up on got the lock when the holder ended, and let it go: another writer gets it
    with WriterLock(lock.path.with_suffix(""), timeout=5).held():
        pass


def test_a_write_inside_a_write_of_the_same_thread_joins_it(sqlite_cw: Casework) -> None:
    cw = sqlite_cw
    opened = file_dispute(cw)
    with cw.write_transaction() as outer, cw.write_transaction() as inner:
        assert inner is outer
    assert cw.execute(opened.case_id, "add_note", MEDIATOR, text="回访").version == 2


def test_the_threads_of_one_process_queue_among_themselves_and_one_waits_for_the_file(sqlite_cw: Casework) -> None:
    """Waiting for the file takes a thread of its own: with another process holding it, six writers of this process
    start at most one such thread between them, and every one of them writes once the holder is done."""
    cw = sqlite_cw
    cases = [file_dispute(cw).case_id for _ in range(6)]
    holder = _holder(cw, 0.6)
    versions: list[int] = []
    writers = [
        threading.Thread(target=lambda c=c: versions.append(cw.execute(c, "add_note", MEDIATOR, text="回访").version))
        for c in cases
    ]
    for writer in writers:
        writer.start()
    most_waiting = 0
    while holder.poll() is None:
        waiting = sum(t.name == "casework-writer-lock" for t in threading.enumerate())
        most_waiting = max(most_waiting, waiting)
        time.sleep(0.01)
    for writer in writers:
        writer.join(10)
    assert most_waiting == 1
    assert sorted(versions) == [2] * 6


def test_a_writer_queued_behind_this_process_s_own_past_the_timeout_is_database_is_locked(sqlite_cw: Casework) -> None:
    lock = WriterLock(_lock(sqlite_cw).path.with_suffix(""), timeout=0.2)
    inside, done = threading.Event(), threading.Event()

    def hold() -> None:
        with lock.held():
            inside.set()
            done.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    assert inside.wait(5)
    started = time.monotonic()
    with pytest.raises(sqlalchemy.exc.OperationalError, match="longer than 0.2 s"), lock.held():
        pass
    assert 0.15 <= time.monotonic() - started < 2
    done.set()
    holder.join(5)
    with lock.held():  # nothing left held
        pass
