#!/usr/bin/env bash
# Install Casework and start the whole service on the embedded SQLite default: migrate the schema,
# load the demo data set (first run only), then start a local Prefect server, the worker that runs
# the scheduled sweeps, and the HTTP API; prints their addresses and the demo tokens. Ctrl-C stops all.
source "$(dirname "$0")/_venv.sh"
exec casework run "$@"
