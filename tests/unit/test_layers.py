"""Every dependency between the layers points one way (docs/architecture.md), read from the source itself: an
import that points the wrong way fails here, naming the file, the line and what it imports.

aggregates  <-  engine  <-  api, web, workflows  <-  cli, bootstrap

Imports inside functions and under TYPE_CHECKING count too: they are dependencies all the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("aggregates", "engine", "api", "web", "workflows", "cli", "bootstrap")
"""The packages (and the one module, bootstrap.py) whose imports are checked; `web` once it exists."""
ADAPTERS = frozenset({"api", "web", "workflows", "cli", "bootstrap"})
FRAMEWORKS = frozenset(
    {
        "flask",
        "flask_smorest",
        "flask_swagger_ui",
        "marshmallow",
        "webargs",
        "werkzeug",
        "granian",
        "prefect",
        "click",
        "rich",
    }
)
MAY_NOT_IMPORT: dict[str, frozenset[str]] = {
    "aggregates": ADAPTERS | FRAMEWORKS | {"engine", "migrations", "sqlalchemy", "alembic"},
    "engine": ADAPTERS | FRAMEWORKS,
    "api": ADAPTERS - {"api"} | {"prefect", "click", "rich"},
    "web": ADAPTERS - {"web"} | {"prefect", "click", "rich"},
    "workflows": ADAPTERS - {"workflows"} | {"flask", "flask_smorest", "granian", "click", "rich"},
    "cli": frozenset(),
    "bootstrap": frozenset({"cli"}),
}
"""What each layer may not import: the domain knows no storage and no adapter, the engine no adapter and no
framework, each adapter no other adapter (only the command line and bootstrap.py, which put them together)."""


def sources(layer: str) -> list[Path]:
    module = ROOT / f"{layer}.py"
    if module.is_file():
        return [module]
    return sorted((ROOT / layer).rglob("*.py"))


def imported(path: Path, source: str | None = None) -> list[tuple[int, str]]:
    """(line, top-level name) of every import in a file; a relative one stays in the file's own package."""
    tree = ast.parse(source if source is not None else path.read_text(encoding="utf-8"), filename=str(path))
    package = path.relative_to(ROOT).parent.parts if path.is_relative_to(ROOT) else ()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            name = package[0] if node.level and package else (node.module or "").split(".")[0]
            found.append((node.lineno, name))
    return found


def wrong_way(layer: str, path: Path, source: str | None = None) -> list[str]:
    forbidden = MAY_NOT_IMPORT[layer]
    return [
        f"{path.relative_to(ROOT)}:{line} imports {name}" for line, name in imported(path, source) if name in forbidden
    ]


@pytest.mark.parametrize("layer", LAYERS)
def test_every_import_points_down_the_layers(layer: str) -> None:
    problems = [problem for path in sources(layer) for problem in wrong_way(layer, path)]
    assert problems == []


def test_the_check_sees_imports_inside_functions_and_type_checking_blocks() -> None:
    source = (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from api.app import create_app\n"
        "def serve() -> None:\n    import prefect\n    from engine import service\n"
    )
    assert wrong_way("engine", ROOT / "engine" / "example.py", source) == [
        "engine/example.py:3 imports api",
        "engine/example.py:5 imports prefect",
    ]
    assert imported(ROOT / "aggregates" / "example.py", "from .base import Case\nimport sqlalchemy.orm\n") == [
        (1, "aggregates"),
        (2, "sqlalchemy"),
    ]


def test_every_layer_has_code_to_check() -> None:
    assert {layer for layer in LAYERS if sources(layer)} >= set(LAYERS) - {"web"}
