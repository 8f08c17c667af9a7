# Sourced by the scripts in this folder: make .venv and install Casework into it (idempotent).
# The extras to install come from CASEWORK_EXTRAS (e.g. "test"), never from the sourcing script's
# arguments: those are the user's options for the command the script runs (`scripts/run.sh --port 9000`).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
extras="${CASEWORK_EXTRAS:-}"
stamp=".venv/.installed${extras:+-$extras}"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
  touch "$stamp"
  # the test extras hold everything the service needs as well
  if [ -n "$extras" ]; then touch .venv/.installed; fi
fi
export PATH="$PWD/.venv/bin:$PATH"
