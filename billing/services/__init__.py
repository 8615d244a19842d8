"""Billing's rules by noun: `prices`, `parts` (catalogue and part lists), `charges` (what a call costs by
category), `payments` (on-site payments and their reconciliation). JSON output lives in `billing.schemas`,
reading numbers in `billing.parsing`."""
