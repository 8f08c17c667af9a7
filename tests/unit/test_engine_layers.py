"""Who inside the engine may know whom: the service runs commands through a unit of work; case-type preparations
and cross-case reactions get the unit of work, never the service; the service's generic path names no case type."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from engine.registry import CASE_TYPES

ENGINE = Path(__file__).resolve().parents[2] / "engine"


def imported_modules(path: Path) -> set[str]:
    """Every engine module `path` imports, at run time or for type checking only."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {name for name in found if name.startswith("engine.")}


def string_constants(path: Path) -> set[str]:
    return {
        node.value
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


WITHOUT_THE_SERVICE = [
    "unit_of_work.py",
    "reactions.py",
    *sorted(str(p.relative_to(ENGINE)) for p in (ENGINE / "case_types").glob("*.py")),
]


@pytest.mark.parametrize("module", WITHOUT_THE_SERVICE)
def test_the_unit_of_work_reactions_and_case_type_modules_do_not_import_the_service(module: str) -> None:
    assert "engine.service" not in imported_modules(ENGINE / module)


def test_the_service_names_no_case_type() -> None:
    assert string_constants(ENGINE / "service.py") & set(CASE_TYPES) == set()


def test_every_case_type_module_is_registered() -> None:
    from engine.case_types import MODULES

    on_disk = {f"engine.case_types.{p.stem}" for p in (ENGINE / "case_types").glob("*.py") if p.stem != "__init__"}
    assert set(MODULES.values()) == on_disk
    assert set(MODULES) <= set(CASE_TYPES)
