#!/usr/bin/env bash
# Install Casework with its test tools and run the whole test suite (lint, format and type checks included).
# PostgreSQL tests use CASEWORK_TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/test);
# they are skipped when it is unreachable, except under CI=true where that is a failure.
CASEWORK_EXTRAS=test source "$(dirname "$0")/_venv.sh"
ruff check .
ruff format --check .
mypy  # the files and the strictness per package are in pyproject.toml
exec pytest "$@"
