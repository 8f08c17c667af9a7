#!/usr/bin/env bash
# Install Casework and start it on the embedded SQLite default:
# migrate the schema, load the demo data set (first run only) and print the statistics report.
source "$(dirname "$0")/_venv.sh"
casework db upgrade
casework demo --if-empty
casework report
