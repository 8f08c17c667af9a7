"""Alembic environment and versions for every table Casework owns."""
