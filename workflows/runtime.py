"""What every flow run needs: the Casework service of this process, and the system actor carrying the run's id.

A flow run of the worker runs in a fresh process (Prefect starts one per run), so the service is built here from
the environment, on first use, rather than handed in."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from engine.config import Settings
from engine.migrate import pending
from engine.service import Actor, Casework

_lock = threading.Lock()
_service: Casework | None = None


def casework() -> Casework:
    """The process's Casework service, built from the environment on first use (schema must be up to date)."""
    global _service
    with _lock:
        if _service is None:
            cw = Casework(Settings.from_env())
            missing = pending(cw.sql_engine)
            if missing:
                cw.close()
                raise RuntimeError(
                    f"the database schema is not up to date ({len(missing)} migration(s) pending); "
                    "run: casework db upgrade"
                )
            _service = cw
        return _service


@contextmanager
def using(cw: Casework) -> Iterator[Casework]:
    """Run flows in this process against `cw` (an embedding application's service, or a test's)."""
    global _service
    with _lock:
        previous, _service = _service, cw
    try:
        yield cw
    finally:
        with _lock:
            _service = previous


def flow_run_id() -> str | None:
    from prefect.runtime import flow_run

    run_id = flow_run.id
    return str(run_id) if run_id else None


def system_actor() -> Actor:
    """The scheduler as recorded on every event it causes: the system role and this flow run's id."""
    return Actor("system", "system", flow_run_id=flow_run_id())
