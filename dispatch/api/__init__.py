"""JSON API v1 for the desk (API.md): one blueprint, "api", whose routes live in one module per noun
(`users`, `customers`, `calls`); the factory imports each module by name before registering it."""
