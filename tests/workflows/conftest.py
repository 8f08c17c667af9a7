"""The workflow tests share one real Prefect test server for the whole session.

Flows run in this process by calling them, bound to the test's engine (its database and its
FixedClock) with `workflows.runtime.using`. The environment below is set before anything
imports Prefect: no analytics, nothing reaching for the internet, and room for a slow start.
"""

from __future__ import annotations

import os

os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"

from collections.abc import Iterator

import pytest

STARTUP_TIMEOUT = 120


@pytest.fixture(scope="session", autouse=True)
def prefect_server() -> Iterator[str]:
    """One Prefect test server (and its own temporary database) for every test of this folder;
    yields its API URL, which subprocesses use to report their flow runs to the same server."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, get_current_settings, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    # Heartbeats only tell a server that a long run is alive; off, a flow call costs about 0.2 s, not 1.1 s.
    with (
        prefect_test_harness(server_startup_timeout=STARTUP_TIMEOUT),
        temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield str(get_current_settings().api.url)
