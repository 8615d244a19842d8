"""GET /api/v1/openapi.json: public, a valid OpenAPI 3 document, and in step with the app's routes."""

from __future__ import annotations

import re

from openapi_spec_validator import validate


def spec_of(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    assert r.mimetype == "application/json"
    return r.get_json()


def test_spec_is_public_and_valid_openapi_3(client):
    spec = spec_of(client)
    assert spec["openapi"].startswith("3.")
    validate(spec)  # raises with the offending path when the document is not valid OpenAPI
    assert spec["paths"] and spec["components"]["schemas"]["Error"]
    assert spec["components"]["securitySchemes"]["bearer"] == {"type": "http", "scheme": "bearer"}


def test_every_api_route_is_in_the_spec_and_nothing_else(app, client):
    spec = spec_of(client)
    expected = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            expected.add((path, method.lower()))
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    assert documented == expected
    assert ("/api/v1/calls/{call_id}", "patch") in documented


def test_operations_say_who_may_call_them(client):
    spec = spec_of(client)
    token = spec["paths"]["/api/v1/auth/token"]["post"]
    assert token["security"] == []
    assert token["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Token"}
    assert spec["paths"]["/api/v1/openapi.json"]["get"]["security"] == []
    override = spec["paths"]["/api/v1/calls/{call_id}"]["patch"]
    assert override["x-roles"] == ["admin", "manager"]
    assert override["parameters"] == [{"name": "call_id", "in": "path", "required": True,
                                       "schema": {"type": "integer"}}]
    assert override["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CategoryOverride"}
    feedback = spec["paths"]["/api/v1/calls/{call_id}/feedback"]["post"]
    assert "200" in feedback["responses"] and "201" not in feedback["responses"]
    create_call = spec["paths"]["/api/v1/calls"]["post"]
    assert "201" in create_call["responses"] and "422" in create_call["responses"]
    assert create_call["x-roles"] == ["admin", "dispatcher", "manager"]
    operation_ids = [op["operationId"] for ops in spec["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))


def test_every_referenced_schema_exists(client):
    spec = spec_of(client)
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', str(spec).replace("'", '"')))
    assert refs <= set(spec["components"]["schemas"])
