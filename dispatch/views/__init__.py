"""The desk's pages: one blueprint, "desk", whose routes live in one module per noun (`calls`, `intake`,
`customers`); the factory imports each module by name before registering it."""
