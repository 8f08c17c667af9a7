"""Prefect sends nothing home from any process of Casework: its SDK usage events, a server's heartbeat (a temporary
server's too) and Cloud run traces are off unless the operator turns them on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import Settings
from workflows import NO_TELEMETRY
from workflows.supervisor import prefect_environment

REPO = Path(__file__).resolve().parents[2]
PROBE = """
import json

import workflows.deployments  # every flow of the product, and Prefect with them
from prefect._internal.analytics.enabled import is_telemetry_enabled
from prefect.settings import get_current_settings

settings = get_current_settings()
print(json.dumps({"sdk_events": is_telemetry_enabled(), "server_heartbeat": settings.server.analytics_enabled,
                  "cloud_traces": settings.cloud.enable_orchestration_telemetry}))
"""
CI = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "JENKINS_URL", "BUILDKITE", "CI_NAME")
"""Prefect keeps its SDK events quiet on CI by itself: the probe runs as on an office's machine."""


pytestmark = pytest.mark.slow  # each test starts a process that imports Prefect


def probe(tmp_path: Path, **env: str) -> dict[str, bool]:
    clean = {k: v for k, v in os.environ.items() if k not in CI and k not in NO_TELEMETRY}
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, "PYTHONPATH": str(REPO), "PREFECT_HOME": str(tmp_path), **env},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_process_that_imports_the_flows_has_prefects_calls_home_off(tmp_path: Path) -> None:
    assert probe(tmp_path) == {"sdk_events": False, "server_heartbeat": False, "cloud_traces": False}


def test_an_operators_own_setting_is_kept(tmp_path: Path) -> None:
    assert probe(tmp_path, PREFECT_SERVER_ANALYTICS_ENABLED="true")["server_heartbeat"] is True


def test_the_local_server_of_casework_run_sends_nothing_out(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'casework.db'}")
    env = prefect_environment(settings, "127.0.0.1", 4300, env={"PREFECT_SERVER_ANALYTICS_ENABLED": "true"})
    assert {k: env[k] for k in NO_TELEMETRY} == NO_TELEMETRY
    assert env["PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY"] == "false" and env["DO_NOT_TRACK"] == "1"
