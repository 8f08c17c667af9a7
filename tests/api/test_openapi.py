"""The OpenAPI document lists every command route of every case type with its request schema, is the committed
copy tests/api/openapi.json (so a change to the contract is a visible diff), and /docs serves Swagger UI with its
scripts and styles from the app itself, reaching for nothing outside it."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import marshmallow as ma
import pytest

from aggregates import fields as declared
from api.cases import COLLECTIONS
from api.command_schemas import command_schema, field_for, shape_schema
from api.fields import DecimalText, Text
from api.openapi_dump import document
from engine.catalogue import Parameter, parameters
from engine.registry import CASE_TYPES
from tests.api.conftest import ApiWorld

COMMITTED = Path(__file__).with_name("openapi.json")
REGENERATE = "python -m api.openapi_dump > tests/api/openapi.json"

READ_ROUTES = {
    ("get", "/cases"),
    ("get", "/cases/{ref}"),
    ("get", "/cases/{ref}/history"),
    ("get", "/cases/{ref}/as-of"),
    ("get", "/cases/{ref}/verification"),
    ("get", "/cases/{ref}/dossier.csv"),
    ("get", "/cases/export.xlsx"),
    ("get", "/cases/export.csv"),
    ("get", "/verification"),
    ("get", "/reports/statistics"),
    ("get", "/reports/statistics.xlsx"),
    ("get", "/me"),
    ("get", "/orgs"),
    ("post", "/orgs"),
    ("get", "/users"),
    ("post", "/users"),
    ("post", "/users/{user_id}/token"),
    ("post", "/users/{user_id}/deactivate"),
}


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


def _resolve(spec: dict[str, Any], ref: str) -> Any:
    node: Any = spec
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def test_the_openapi_document_lists_every_command_route_with_its_request_schema(api: ApiWorld) -> None:
    response = api.client.get("/openapi.json")  # public: no token needed to read the contract
    assert response.status_code == 200 and response.is_json
    spec = response.get_json()
    assert spec["openapi"].startswith("3.") and spec["info"]["title"] == "Casework"
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}
    operations = {(method, path) for path, item in spec["paths"].items() for method in item if method != "parameters"}

    expected = set(READ_ROUTES)
    for kind, cls in CASE_TYPES.items():
        for action, a in cls.TABLE.commands.items():
            base = f"/{COLLECTIONS[kind]}"
            path = base if a.creates else f"{base}/{{case_id}}/{action.replace('_', '-')}"
            expected.add(("post", path))
            operation = spec["paths"][path]["post"]
            fields = {f.data_key or name for name, f in command_schema(kind, action)().fields.items()}
            body = _resolve(spec, operation["requestBody"]["content"]["application/json"]["schema"]["$ref"])
            assert set(body["properties"]) == fields, (kind, action)
            assert set(body.get("required", [])) == {
                f.data_key or n for n, f in command_schema(kind, action)().fields.items() if f.required
            }
            assert str(201 if a.creates else 200) in operation["responses"]
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            assert "Idempotency-Key" in headers and (a.creates or "If-Match" in headers), (kind, action)
    assert expected <= operations, sorted(expected - operations)
    assert all(_resolve(spec, ref) for ref in _refs(spec))  # every $ref points into the document
    for path, item in spec["paths"].items():  # every path parameter is declared with a schema
        for name in re.findall(r"{(\w+)}", path):
            declared = [
                p
                for op in item.values()
                if isinstance(op, dict)
                for p in op.get("parameters", [])
                if p.get("in") == "path" and p["name"] == name
            ] + [p for p in item.get("parameters", []) if p["name"] == name]
            assert declared and all("schema" in p for p in declared), (path, name)


def test_the_docs_page_and_its_assets_come_from_the_app_itself(api: ApiWorld) -> None:
    page = api.client.get("/docs/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert {a for a in assets if a.endswith((".js", ".css"))} >= {"/docs/swagger-ui-bundle.js", "/docs/swagger-ui.css"}
    for asset in assets:
        assert asset.startswith("/docs/"), asset  # nothing from a CDN
        response = api.client.get(asset)
        assert response.status_code == 200 and len(response.get_data()) > 100, asset
        if asset.endswith(".js"):
            assert "javascript" in (response.mimetype or ""), asset
        if asset.endswith(".css"):
            assert response.mimetype == "text/css", asset
    user_config = re.search(r"var user_config = (\{.*?\});", html)
    assert user_config is not None
    config = json.loads(user_config.group(1))
    assert config["url"] == "/openapi.json"
    # Swagger UI would otherwise load a badge from validator.swagger.io on every visit
    assert "validatorUrl" in config and config["validatorUrl"] is None
    assert api.client.get("/health").get_json() == {"status": "ok"}


def test_a_command_field_is_what_its_parameter_declares_not_what_its_name_suggests() -> None:
    """Field types and limits come from the parameter's type and its `Annotated` markers: the API used to look them
    up by name, so renaming a parameter (or giving another one a known name) silently changed the contract."""
    text = field_for(Parameter("mediator", str, True))  # was 120 characters, for being called `mediator`
    assert isinstance(text, Text) and text.max_length == 2000
    limited = field_for(Parameter("anything", str, True, metadata=(declared.Text(max=48), declared.Choice(("a", "b")))))
    assert isinstance(limited, Text) and limited.max_length == 48 and limited.metadata["enum"] == ["a", "b"]
    money = field_for(Parameter("anything", Any, False, metadata=(declared.Money(),)))
    assert isinstance(money, DecimalText) and money.pattern.pattern == r"^\d{1,12}(\.\d{1,2})?$"
    percent = field_for(Parameter("anything", Any, True, metadata=(declared.Percent(signed=True),)))
    assert isinstance(percent, DecimalText) and percent.pattern.pattern == r"^-?\d{1,3}(\.\d{1,4})?$"
    claims = field_for(Parameter("anything", Sequence[Mapping[str, Any]], True, metadata=(declared.Nested("claim"),)))
    assert isinstance(claims, ma.fields.List) and isinstance(claims.inner, ma.fields.Nested)
    assert claims.inner.nested is shape_schema("claim") and claims.required
    unknown_shape = Parameter("x", Mapping[str, Any], True, metadata=(declared.Nested("nothing"),))
    for undeclared, problem in [
        (Parameter("wage_increase_pct", Any, True), "Money or Percent"),
        (Parameter("claims", Sequence[Mapping[str, Any]], True), "Nested"),
        (unknown_shape, "'nothing'"),
    ]:
        with pytest.raises(TypeError, match=problem) as refused:
            field_for(undeclared)
        assert repr(undeclared.name) in str(refused.value)
    # the aggregates declare what the API reads
    assert parameters("labor_dispute", "start_mediation")[0].metadata == (declared.Text(max=120),)
    assert dict((p.name, p.metadata) for p in parameters("wage_negotiation", "submit_proposal"))[
        "wage_increase_pct"
    ] == (declared.Percent(signed=True),)


def _differences(served: Any, committed: Any, where: str = "") -> Iterator[str]:
    """Where two JSON documents differ, as dotted paths."""
    if isinstance(served, dict) and isinstance(committed, dict):
        for key in sorted(set(served) | set(committed)):
            if key not in committed:
                yield f"{where}.{key} (new)"
            elif key not in served:
                yield f"{where}.{key} (gone)"
            else:
                yield from _differences(served[key], committed[key], f"{where}.{key}")
    elif served != committed:
        yield where or "(the whole document)"


def test_the_openapi_document_is_the_committed_copy() -> None:
    """The contract changes only on purpose: a renamed parameter, a new limit or response shows as a diff of
    tests/api/openapi.json in the same commit."""
    served = document()
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    differences = list(_differences(served, committed))
    assert not differences, (
        f"the OpenAPI document the API serves differs from {COMMITTED.name} at {len(differences)} place(s): "
        f"{', '.join(differences[:10])}{' ...' if len(differences) > 10 else ''}. If the change is meant, "
        f"regenerate the copy with `{REGENERATE}` and commit it with the change."
    )


def test_the_copy_is_made_from_the_document_an_app_over_a_database_serves(api: ApiWorld) -> None:
    """The copy is made from an app over an engine that is never connected; the app over a real database serves
    the same document."""
    assert api.client.get("/openapi.json").get_json() == document()
