"""What every flow run needs: the engine of this process, and the system actor carrying the run's id."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from engine.config import Settings
from engine.migrate import pending
from engine.service import Actor, Casework

_lock = threading.Lock()
_engine: Casework | None = None


def engine() -> Casework:
    """The process's engine, built from the environment on first use (schema must be up to date)."""
    global _engine
    with _lock:
        if _engine is None:
            cw = Casework(Settings.from_env())
            missing = pending(cw.db)
            if missing:
                cw.close()
                raise RuntimeError(f"the database schema is not up to date ({len(missing)} migration(s) pending); "
                                   "run: casework db upgrade")
            _engine = cw
        return _engine


@contextmanager
def using(cw: Casework) -> Iterator[Casework]:
    """Run flows in this process against `cw` (an embedding application's engine, or a test's)."""
    global _engine
    with _lock:
        previous, _engine = _engine, cw
    try:
        yield cw
    finally:
        with _lock:
            _engine = previous


def flow_run_id() -> str | None:
    from prefect.runtime import flow_run

    run_id = flow_run.id
    return str(run_id) if run_id else None


def system_actor() -> Actor:
    """The scheduler as recorded on every event it causes: the system role and this flow run's id."""
    return Actor("system", "system", flow_run_id=flow_run_id())
