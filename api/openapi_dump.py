"""Print the OpenAPI document the API serves, as stable JSON (keys sorted, indented):

    python -m api.openapi_dump > tests/api/openapi.json

tests/api/test_openapi.py compares the served document with that committed copy, so every change to the
contract (a field, a limit, a route, a response) is a visible diff in review. The document needs no
database and no person key: it is read from an app over an engine that is never connected.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from api.app import create_app
from engine.config import Settings
from engine.service import Casework

_UNUSED_PERSON_KEY = "the OpenAPI document keys no ID number with this"
"""Given so that building the app reads no key file and writes none."""


def document() -> dict[str, Any]:
    """/openapi.json as the app serves it."""
    cw = Casework(
        Settings.from_env({"CASEWORK_DATABASE_URL": "sqlite:///:memory:", "CASEWORK_PERSON_KEY": _UNUSED_PERSON_KEY})
    )
    try:
        served: dict[str, Any] = create_app(cw).test_client().get("/openapi.json").get_json()
        return served
    finally:
        cw.close()


def render(spec: dict[str, Any]) -> str:
    return json.dumps(spec, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render(document()))
