"""Fixtures of the integration tests beyond the shared ones (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

from cli import main


@pytest.fixture
def run(tmp_path, monkeypatch) -> Callable[..., Result]:
    """`casework ARGS...` in-process on a real SQLite file in the test's own data directory; `ok` asserts it exited
    0, `answer` is what the operator types at a prompt."""
    monkeypatch.setenv("CASEWORK_DATA_DIR", str(tmp_path))
    for name in (
        "CASEWORK_DATABASE_URL",
        "CASEWORK_CIPHER_KEY",
        "CASEWORK_CHECKPOINT_KEY",
        "CASEWORK_CHECKPOINT_WEBHOOK",
    ):
        monkeypatch.delenv(name, raising=False)  # the data directory's own database and keys
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True, answer: str | None = None) -> Result:
        result = runner.invoke(main, list(args), input=answer, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke
