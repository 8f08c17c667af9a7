"""Prefect flows: scheduled escalation and legal-clock sweeps (to come; they will call engine/)."""
