"""The document says what the server really accepts, walked field by field on a database with the demo in it.

Every text field of every documented JSON request body (top level, and in the objects of an array) is sent
blank ("") and as spaces ("   ") to its endpoint, with real ids in the path: where the server refuses the
value (422 naming that field), the document must refuse it too (minLength, pattern), and where the server
takes it, the document must allow it. Answers that tell nothing about the field (404, 409, a 422 about
other fields only) are skipped; the walk must still decide enough fields to mean something.
Success codes and bodies as documented are schemathesis's part (test_schemathesis.py).
"""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator


def _resolve(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _objects(schema: dict[str, Any], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    """The object schemas a body may be (a oneOf's each)."""
    schema = _resolve(schema, schemas)
    if "oneOf" in schema or "anyOf" in schema:
        return [o for s in schema.get("oneOf", schema.get("anyOf", [])) for o in _objects(s, schemas)]
    return [schema]


def _is_text(prop: dict[str, Any]) -> bool:
    types = prop.get("type", [])
    types = [types] if isinstance(types, str) else list(types)
    return "string" in types and "enum" not in prop and "format" not in prop


def text_fields(schema: dict[str, Any], schemas: dict[str, Any]) -> list[tuple[str, dict[str, Any], Any]]:
    """(field name as the server names it, its schema, a body holding only that field blank-able by `make`)."""
    out: list[tuple[str, dict[str, Any], Any]] = []
    for obj in _objects(schema, schemas):
        for name, prop in obj.get("properties", {}).items():
            prop = _resolve(prop, schemas)
            if _is_text(prop):
                out.append((name, prop, lambda v, name=name: {name: v}))
            items = _resolve(prop.get("items", {}), schemas) if prop.get("type") == "array" else {}
            for sub, sub_prop in items.get("properties", {}).items():
                if _is_text(sub_prop):
                    out.append((f"{name}[].{sub}", sub_prop, lambda v, name=name, sub=sub: {name: [{sub: v}]}))
    return out


def _refused(answer: Any, field: str) -> bool | None:
    """True: 422 naming the field; False: the server took the request; None: the answer tells nothing."""
    if answer.status_code < 300:
        return False
    if answer.status_code != 422:
        return None
    top, _, sub = field.partition("[].")
    named = set((answer.get_json() or {}).get("error", {}).get("fields", {}))
    if any(n == top or (sub and re.fullmatch(rf"{re.escape(top)}(\[\d+\]|\.\d+)?(\.{re.escape(sub)})?", n))
           for n in named):
        return True
    return None


def test_blank_text_is_documented_as_the_server_takes_it(app, api, admin):
    from tests import fuzzing

    fuzzing.seed()
    ids = fuzzing.known_ids()
    client = api(admin)
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    decided, mismatches = 0, []
    for path, operations in spec["paths"].items():
        url = re.sub(r"\{(\w+)\}", lambda m: str(ids.get(m.group(1), [1])[0]), path)
        for method, operation in operations.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if not body:
                continue
            for field, prop, make in text_fields(body, schemas):
                for value in ("", "   "):
                    refused = _refused(getattr(client, method)(url, json=make(value)), field)
                    if refused is None:
                        continue
                    decided += 1
                    documented_ok = Draft202012Validator(prop).is_valid(value)
                    if documented_ok == refused:
                        mismatches.append(f"{method.upper()} {path} {field}={value!r}: server "
                                          f"{'refuses' if refused else 'takes'} it, the document "
                                          f"{'allows' if documented_ok else 'refuses'} it")
    assert not mismatches, "\n".join(mismatches)
    assert decided >= 60, decided
