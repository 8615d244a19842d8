"""Billing: prices, the parts catalogue, charges of a call by category, on-site payments, invoices.
Its blueprints are registered by the application factory (dispatch/app.py)."""
