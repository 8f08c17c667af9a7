"""Prefect flows and their deployments: the escalation and legal-clock sweeps, offer campaigns and
maintenance. Flows are thin: each task calls one plain engine function (engine/sweeps.py,
engine/campaigns.py, engine/rebuild.py, engine/audit.py, engine/reports.py)."""

import os

NO_TELEMETRY = {
    "DO_NOT_TRACK": "1",  # the SDK's usage events, decided when `prefect` is first imported
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",  # a server's heartbeat to Prefect, a temporary server's too
    "PREFECT_CLOUD_ENABLE_ORCHESTRATION_TELEMETRY": "false",  # run traces sent to Prefect Cloud
    "PREFECT_UI_SHOW_PROMOTIONAL_CONTENT": "false",
}
"""Prefect's calls home, off: a union's server sends nothing out, and a machine without internet access logs no
failed calls. Set here, before any module of this package imports Prefect; a setting already in the environment
wins, except under `casework run`, whose local server always has them off (workflows/supervisor.py)."""

for _name, _value in NO_TELEMETRY.items():
    os.environ.setdefault(_name, _value)
