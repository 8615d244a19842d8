"""The platform: configuration, extensions, database, people and login, roles, the API edge and its
OpenAPI document, errors, audit trail, numbering, validation and time. The desk's domain lives beside it."""
