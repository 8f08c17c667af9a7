#!/usr/bin/env bash
# Install Casework and start it on the embedded SQLite default: migrate the schema, load the
# demo data set (first run only), then serve the HTTP API and print its address and demo tokens.
source "$(dirname "$0")/_venv.sh"
casework db upgrade
casework demo --if-empty
exec casework api "$@"
