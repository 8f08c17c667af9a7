"""Prefect flows and their deployments: the escalation and legal-clock sweeps, offer campaigns and
maintenance. Flows are thin: each task calls one plain engine function (engine/sweeps.py,
engine/campaigns.py, engine/rebuild.py, engine/audit.py, engine/reports.py)."""
