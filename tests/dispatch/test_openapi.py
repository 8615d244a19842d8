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
    assert override["x-roles"] == ["admin", "dispatcher", "manager"]  # the category itself: managers only
    assert override["parameters"] == [{"name": "call_id", "in": "path", "required": True,
                                       "schema": {"type": "integer"}}]
    assert override["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CallPatch"}
    assert {"$ref": "#/components/schemas/CategoryOverride"} in spec["components"]["schemas"]["CallPatch"]["oneOf"]
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


# ----------------------------------------------------------------------------- the document agrees with the parsers


def examples(schema):
    """(value, valid) pairs drawn from a property schema's own keywords: each bound, just inside and just
    outside, each enum member and a stranger, a text at and past maxLength, a value of the wrong type."""
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    out = []
    if "enum" in schema:
        out += [(v, True) for v in schema["enum"]] + [("not-one-of-them", False), (7, False)]
        return out
    if "integer" in types or "number" in types:
        step = 1 if "integer" in types else 0.5
        if "minimum" in schema:
            out += [(schema["minimum"], True), (schema["minimum"] - step, False)]
        if "exclusiveMinimum" in schema:
            out += [(schema["exclusiveMinimum"], False), (schema["exclusiveMinimum"] + step, True)]
        if "maximum" in schema:
            out += [(schema["maximum"], True), (schema["maximum"] + step, False)]
        if "integer" in types and "number" not in types:
            out += [(1.5, False)]
        if "string" not in types:
            out += [("12", False)]
        out += [(True, False)]
    if types == ["string"] and "format" not in schema and "pattern" not in schema and "maxLength" in schema:
        out += [("x" * schema["maxLength"], True), ("x" * (schema["maxLength"] + 1), False), (12, False)]
    if types == ["boolean"]:
        out += [(True, True), ("yes", False)]
    return out


def test_examples_agree_with_the_document_itself():
    from jsonschema import Draft202012Validator

    from technicians.api import QUANTITY

    for schema in (QUANTITY, {"type": "integer", "minimum": 1, "maximum": 5}, {"enum": ["a", "b"]},
                   {"type": "string", "maxLength": 3}):
        for value, valid in examples(schema):
            assert Draft202012Validator(schema).is_valid(value) == valid, (schema, value)


def test_part_quantity_as_documented_is_what_the_parser_takes():
    """The phone's part lines: decimals (refrigerant by the kg) are documented because they are accepted."""
    from jsonschema import Draft202012Validator

    from billing.services.parts import parse_part_lines
    from dispatch.core.errors import Invalid
    from technicians.api import OPENAPI

    item = OPENAPI["schemas"]["CompleteIn"]["properties"]["parts"]["items"]
    quantity = item["properties"]["quantity"]
    values = examples(quantity) + [(v, True) for v in quantity["examples"]] + [
        ("999", True), ("0.001", True), ("1000", False), ("-1", False), ("0", False), ("abc", False), (None, True)]
    for value, _ in values:
        documented = Draft202012Validator(item).is_valid({"sku": "FLT-1620", "quantity": value})
        try:
            parse_part_lines([{"sku": "FLT-1620", "quantity": value}])
            parsed = True
        except Invalid:
            parsed = False
        assert documented == parsed, (value, documented, parsed)
    assert quantity["type"] != "integer"


def _fields_refused(response):
    if response.status_code != 422:
        return set()
    return set((response.get_json() or {}).get("error", {}).get("fields", {}))


def test_every_documented_field_bound_is_the_parsers(app, api, admin):
    """For each documented request body whose endpoint takes no path id: every bound, enum and length
    in the document is sent just inside (the field is not refused) and just outside (it is)."""
    client = api(admin)
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    checked = 0
    for path, operations in spec["paths"].items():
        if "{" in path:
            continue
        for method, operation in operations.items():
            ref = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if not ref:
                continue
            schema = schemas[ref["$ref"].rsplit("/", 1)[-1]]
            for name, prop in schema.get("properties", {}).items():
                for value, valid in examples(prop):
                    refused = _fields_refused(getattr(client, method)(path, json={name: value}))
                    if not valid and name not in refused and refused:
                        continue  # a handler that checks ids after the other fields stopped before this one
                    assert (name not in refused) == valid, (method, path, name, value, refused)
                    checked += 1
    assert checked > 40, checked


def test_success_codes_are_the_ones_the_server_answers(client):
    """A POST that changes a record without creating one answers 200, and says so; one that creates only
    when there is something to create says both; a revocation answers 204 with no body; a CSV or a photo
    is documented as what it is (schemathesis checks each against the live server: test_schemathesis.py)."""
    spec = spec_of(client)

    def ok(path, method="post"):
        return {s for s in spec["paths"][path][method]["responses"] if s.startswith("2")}

    for path in ("/api/v1/visits/{visit_id}/cancel", "/api/v1/time-off/{time_off_id}/cancel",
                 "/api/v1/sites/{site_id}/place", "/api/v1/parts/{part_id}/archive",
                 "/api/v1/payments/{payment_id}/reconcile", "/api/v1/carry-backs/{carry_back_id}/receive",
                 "/api/v1/carry-backs/{carry_back_id}/work", "/api/v1/carry-backs/{carry_back_id}/return",
                 "/api/v1/billing/cash-up/receive", "/api/v1/calls/{call_id}/cancel"):
        assert ok(path) == {"200"}, path
    for path in ("/api/v1/billing/contract-invoices", "/api/v1/calendar/public-holidays",
                 "/api/v1/visits/{visit_id}/signature", "/api/v1/carry-backs/{carry_back_id}/receipt-signature"):
        assert ok(path) == {"200", "201"}, path
    for path in ("/api/v1/calls", "/api/v1/invoices/{invoice_id}/void", "/api/v1/visits/{visit_id}/payments"):
        assert ok(path) == {"201"}, path  # API.md: 201
    if "delete" in spec["paths"].get("/api/v1/auth/token", {}):
        revoke = spec["paths"]["/api/v1/auth/token"]["delete"]["responses"]["204"]
        assert "content" not in revoke
    csv = spec["paths"]["/api/v1/reports/archive.csv"]["get"]["responses"]["200"]["content"]
    photo = spec["paths"]["/api/v1/carry-backs/{carry_back_id}/photos/{photo_id}.jpg"]["get"]["responses"]["200"]
    assert list(csv) == ["text/csv"] and list(photo["content"]) == ["image/jpeg"]
