"""OpenAPI 3 for /api/v1, built from the app's own routes so it can never drift from the code.

Each API view's docstring gives the summary; `allowed_roles` gives the roles; the request and response
schemas are named per endpoint in plain tables, {"schemas": {...}, "bodies": {endpoint: (request, response)}}:
the desk's here, each other API module its own `OPENAPI`. The factory hands them to the app with
`register_openapi` (nothing is registered by importing a module); `build_spec` reads the app's.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app

ERROR = {"type": "object", "required": ["error"], "properties": {"error": {
    "type": "object", "required": ["code", "message", "fields"],
    "properties": {"code": {"type": "string"}, "message": {"type": "string"},
                   "fields": {"type": "object", "additionalProperties": {"type": "string"}}}}}}

# Digits, spaces, + - ( ) . / and an extension, 5 to 20 digits; else 422 invalid_phone.
PHONE = r"^\+?[ ()./-]*([0-9][ ()./-]*){5,20}?(\s*([Ee][Xx][Tt]\.?|[Xx]|#|转|分机)\s*[0-9]{1,6})?$"
# A time of day as the API writes it, 08:00 (time.fromisoformat would take a few more spellings).
HH_MM = r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d)?$"
# Text the server trims and then requires (a blank or all-space value is 422): at least one visible character.
NON_BLANK: dict[str, Any] = {"minLength": 1, "pattern": r"\S"}

SCHEMAS: dict[str, Any] = {
    "Error": ERROR,
    "TokenRequest": {"type": "object", "required": ["username", "password"],
                     "properties": {"username": {"type": "string", "minLength": 1},
                                    "password": {"type": "string", "minLength": 1}}},
    "Token": {"type": "object", "properties": {"token": {"type": "string"}, "role": {"type": "string"},
                                               "expires_at": {"type": "string", "format": "date-time"}}},
    "CustomerIn": {"type": "object", "required": ["name", "phone"], "properties": {
        "name": {"type": "string", "maxLength": 200, **NON_BLANK},
        "phone": {"type": "string", "maxLength": 40, "pattern": PHONE},
        "contact_name": {"type": "string"}, "email": {"type": "string"},
        # A name or phone already on file is 409 possible_duplicate, with error.matches [{id, name, phone}],
        # unless this is true.
        "confirm_duplicate": {"type": "boolean"}}},
    "SiteIn": {"type": "object", "required": ["address"], "properties": {
        "address": {"type": "string", "maxLength": 500, **NON_BLANK}, "latitude": {"type": "number"},
        "longitude": {"type": "number"}}},
    # Correct where a site is: the code of one of GET /sites/{id}'s candidates, or coordinates.
    "SitePlace": {"type": "object", "properties": {
        "code": {"type": "string", "maxLength": 40}, "latitude": {"type": "number", "minimum": -90, "maximum": 90},
        "longitude": {"type": "number", "minimum": -180, "maximum": 180}}},
    "EquipmentIn": {"type": "object", "required": ["customer_id", "site_id", "model", "serial_number"],
                    "properties": {"customer_id": {"type": "integer"}, "site_id": {"type": "integer"},
                                   "model": {"type": "string", **NON_BLANK},
                                   "serial_number": {"type": "string", **NON_BLANK},
                                   "warranty_until": {"type": "string", "format": "date"}}},
    "ContractIn": {"type": "object", "required": ["customer_id", "number", "starts_on", "ends_on"],
                   "properties": {"customer_id": {"type": "integer"}, "number": {"type": "string", **NON_BLANK},
                                  "starts_on": {"type": "string", "format": "date"},
                                  "ends_on": {"type": "string", "format": "date"},
                                  "equipment_ids": {"type": "array", "items": {"type": "integer"}},
                                  "covers_parts": {"type": "boolean"}}},
    "CallIn": {"type": "object", "required": ["customer_id", "site_id", "channel", "problem_type", "priority",
                                              "description"],
               "properties": {"customer_id": {"type": "integer"}, "site_id": {"type": "integer"},
                              "equipment_id": {"type": "integer"},
                              "channel": {"enum": ["phone", "email", "web", "messaging", "walk_in"]},
                              "problem_type": {"type": "string", **NON_BLANK},
                              "priority": {"enum": ["urgent", "high", "normal", "low"]},
                              "description": {"type": "string", "maxLength": 5000, **NON_BLANK}, "on_site": {"type": "boolean"},
                              "required_skill": {"type": "string"},
                              "received_at": {"type": "string", "format": "date-time"}}},
    "Call": {"type": "object", "properties": {
        "id": {"type": "integer"}, "number": {"type": "string"}, "status": {"type": "string"},
        "category": {"enum": ["charged", "contract", "free"]}, "category_reason": {"type": "string"},
        "received_at": {"type": "string", "format": "date-time"},
        "booking_deadline": {"type": ["string", "null"], "format": "date-time"},
        "response_deadline": {"type": "string", "format": "date-time"},
        "resolution_deadline": {"type": "string", "format": "date-time"},
        "cancelled_at": {"type": ["string", "null"], "format": "date-time"},
        "cancel_reason": {"type": ["string", "null"]},
        # Only in the answer to POST /calls: the open calls on the same equipment (or, without equipment, at
        # the same site) when the call was registered; the call is created all the same.
        "open_calls": {"type": "array", "items": {"type": "object", "properties": {
            "id": {"type": "integer"}, "number": {"type": "string"}, "status": {"type": "string"},
            "problem_type": {"type": "string"}, "received_at": {"type": "string", "format": "date-time"}}}}}},
    "CategoryOverride": {"type": "object", "required": ["category", "reason"],
                         "properties": {"category": {"enum": ["charged", "contract", "free"]},
                                        "reason": {"type": "string", **NON_BLANK}}},
    # Desk roles, while the call is new (else 409 call_not_editable): the category and deadlines are worked
    # out again. `equipment_id: null` means the equipment is not listed.
    "CallCorrection": {"type": "object", "minProperties": 1, "properties": {
        "description": {"type": "string", "maxLength": 5000, **NON_BLANK},
        "problem_type": {"type": "string", "maxLength": 100, **NON_BLANK},
        "priority": {"enum": ["urgent", "high", "normal", "low"]},
        "channel": {"enum": ["phone", "email", "web", "messaging", "walk_in"]},
        "site_id": {"type": "integer"}, "equipment_id": {"type": ["integer", "null"]},
        "required_skill": {"type": ["string", "null"], "maxLength": 60}}},
    "CallPatch": {"oneOf": [{"$ref": "#/components/schemas/CategoryOverride"},
                            {"$ref": "#/components/schemas/CallCorrection"}]},
    "CallCancel": {"type": "object", "required": ["reason"], "properties": {
        "reason": {"type": "string", "maxLength": 1000, **NON_BLANK}}},
    "NoteIn": {"type": "object", "required": ["channel", "text"], "properties": {
        "channel": {"type": "string", **NON_BLANK}, "text": {"type": "string", **NON_BLANK},
        "next_follow_up": {"type": "string", "format": "date-time"}}},
    "FeedbackIn": {"type": "object", "required": ["rating"], "properties": {
        "rating": {"type": "integer", "minimum": 1, "maximum": 5}, "comment": {"type": "string"}}},
    # Admin: a user; skills, base and working hours matter for technicians only (API.md).
    "UserIn": {"type": "object", "required": ["username", "password", "role"], "properties": {
        "username": {"type": "string", "maxLength": 80, **NON_BLANK},
        "password": {"type": "string", "maxLength": 200, **NON_BLANK,
                     "description": "at least 12 characters, not a common password"},
        "name": {"type": "string", "maxLength": 200}, "phone": {"type": "string", "maxLength": 40},
        "role": {"enum": ["admin", "manager", "dispatcher", "technician", "finance"]},
        "skills": {"type": "array", "items": {"type": "string", "maxLength": 60, **NON_BLANK}},
        "base_latitude": {"type": "number", "minimum": -90, "maximum": 90},
        "base_longitude": {"type": "number", "minimum": -180, "maximum": 180},
        "working_hours": {"type": "array", "items": {"type": "object", "required": ["weekday", "start", "end"],
                                                     "properties": {
            "weekday": {"type": "integer", "minimum": 0, "maximum": 6, "description": "0 is Monday"},
            "start": {"type": "string", "pattern": HH_MM}, "end": {"type": "string", "pattern": HH_MM}}}}}},
    # The caller's own password (204; every token and session of the caller ends, this one too).
    "PasswordChange": {"type": "object", "required": ["current_password", "new_password"], "properties": {
        "current_password": {"type": "string", "minLength": 1},
        "new_password": {"type": "string", "minLength": 12, "maxLength": 200,
                         "description": "at least 12 characters, not a common password; else 422"}}},
    # Only the fields sent change; name and phone, when sent, may not be blank.
    "CustomerPatch": {"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 200, **NON_BLANK},
        "phone": {"type": "string", "maxLength": 40, "pattern": PHONE},
        "contact_name": {"type": "string", "maxLength": 200}, "email": {"type": "string", "maxLength": 200},
        "notes": {"type": "string", "maxLength": 2000}}},
    # Why a clock ran over (超时说明), kept on the call.
    "OverrunIn": {"type": "object", "required": ["clock", "cause", "action"], "properties": {
        "clock": {"enum": ["dispatch", "booking", "response", "resolution", "confirmation"]},
        "cause": {"type": "string", "maxLength": 2000, **NON_BLANK},
        "action": {"type": "string", "maxLength": 2000, **NON_BLANK}}},
    # The company calendar (admin): a public holiday (closed) or a make-up working day (调休, with its hours).
    "CalendarDayIn": {"type": "object", "required": ["date", "kind", "name"], "properties": {
        "date": {"type": "string", "format": "date"}, "kind": {"enum": ["holiday", "workday"]},
        "name": {"type": "string", "maxLength": 100, **NON_BLANK},
        "start": {"type": ["string", "null"], "pattern": HH_MM}, "end": {"type": ["string", "null"], "pattern": HH_MM}}},
    "PublicHolidaysIn": {"type": "object", "required": ["year"], "properties": {
        "year": {"type": "integer", "description": "a year whose public holidays this version knows "
                                                   "(dispatch/calendar.py); another is 422 with the known ones"}}},
    # Each weekday's hours; start and end null: closed that day.
    "CalendarHoursIn": {"type": "object", "required": ["hours"], "properties": {
        "hours": {"type": "array", "minItems": 1, "items": {"type": "object", "required": ["weekday"], "properties": {
            "weekday": {"type": "integer", "minimum": 0, "maximum": 6},
            "start": {"type": ["string", "null"], "pattern": HH_MM},
            "end": {"type": ["string", "null"], "pattern": HH_MM}}}}}},
}

# endpoint -> (request schema, response schema)
BODIES: dict[str, tuple[str | None, str | None]] = {
    "auth_api.token": ("TokenRequest", "Token"),
    "api.create_customer": ("CustomerIn", None),
    "api.create_site": ("SiteIn", None),
    "api.place_site": ("SitePlace", None),
    "api.create_equipment": ("EquipmentIn", None),
    "api.create_contract": ("ContractIn", None),
    "api.create_call": ("CallIn", "Call"),
    "api.get_call": (None, "Call"),
    "api.override_category": ("CallPatch", "Call"),
    "api.cancel_call": ("CallCancel", "Call"),
    "api.add_note": ("NoteIn", None),
    "api.feedback": ("FeedbackIn", "Call"),
    "api.create_user": ("UserIn", None),
    "api.update_customer": ("CustomerPatch", None),
    "api.change_password": ("PasswordChange", None),
    "overruns_api.api_explain": ("OverrunIn", None),
    "calendar_api.api_add_day": ("CalendarDayIn", None),
    "calendar_api.api_load_holidays": ("PublicHolidaysIn", None),
    "calendar_api.api_set_hours": ("CalendarHoursIn", None),
}

OPENAPI: dict[str, Any] = {"schemas": SCHEMAS, "bodies": BODIES}


def register_openapi(app: Flask, *tables: dict[str, Any]) -> None:
    """Give the app the schema tables of its API modules (the desk's first); a name defined twice is a bug."""
    schemas: dict[str, Any] = {}
    bodies: dict[str, tuple[str | None, str | None]] = {}
    for table in (OPENAPI, *tables):
        for name, schema in table.get("schemas", {}).items():
            if name in schemas:
                raise ValueError(f"OpenAPI schema {name} is defined twice")
            schemas[name] = schema
        bodies.update(table.get("bodies", {}))
    app.extensions["openapi"] = {"schemas": schemas, "bodies": bodies}


# What a path ending so answers instead of JSON.
FILE_TYPES = {".pdf": "application/pdf", ".csv": "text/csv", ".jpg": "image/jpeg"}


def _path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for conv, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule):  # <int:id>, <int(min=1):id>
        params.append({"name": name, "in": "path", "required": True,
                       "schema": {"type": "integer" if conv == "int" else "string"}})
    return re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule), params


def build_spec() -> dict[str, Any]:
    paths: dict[str, Any] = {}
    tables = current_app.extensions["openapi"]
    bodies = tables["bodies"]
    for rule in current_app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        view = current_app.view_functions[rule.endpoint]
        path, params = _path(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            doc = (view.__doc__ or rule.endpoint.split(".")[-1].replace("_", " ")).strip().splitlines()[0]
            op: dict[str, Any] = {"operationId": rule.endpoint.replace(".", "_") + "_" + method.lower(),
                                  "summary": doc, "parameters": params, "responses": {}}
            is_public = getattr(view, "public", False)
            if is_public:
                op["security"] = []
            else:
                roles = sorted(getattr(view, "allowed_roles", ()))
                op["x-roles"] = roles
                op["description"] = "Roles: " + ", ".join(roles)
            request_schema, response_schema = bodies.get(rule.endpoint, (None, None))
            if request_schema:
                op["requestBody"] = {"required": True, "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{request_schema}"}}}}
            ok = "201" if method == "POST" and rule.endpoint not in ("auth_api.token",) else "200"
            # A POST that changes state but creates nothing: "200"; one that creates something only when there
            # is something to create (contract invoices due, holidays not yet loaded): ("201", "200").
            marked = getattr(view, "openapi_status", ok)
            statuses = [str(s) for s in marked] if isinstance(marked, tuple | list) else [str(marked)]
            content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{response_schema}"}
                                             if response_schema else {"type": "object"}}}
            for suffix, media_type in FILE_TYPES.items():
                if rule.rule.endswith(suffix):
                    content = {media_type: {"schema": {"type": "string", "format": "binary"}}}
            for ok in statuses:
                described = {"200": "OK", "201": "Created", "204": "No Content"}.get(ok, "Done")
                op["responses"][ok] = {"description": described, **({} if ok == "204" else {"content": content})}
            for status, what in (("400", "Malformed request"), ("401", "Not logged in"), ("403", "Role not allowed"),
                                 ("404", "Not found"), ("409", "Conflict with current state"),
                                 ("422", "Invalid input"), ("429", "Too many attempts")):
                op["responses"][status] = {"description": what, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Error"}}}}
            paths.setdefault(path, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "Field-service dispatch API", "version": "1.0.0",
                 "description": "Repair calls, visits, slips, on-site work and billing. See API.md."},
        "servers": [{"url": "/"}],
        "components": {"schemas": tables["schemas"],
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": dict(sorted(paths.items())),
    }
