"""The manager\x27s numbers: KPIs, charts, the dashboard, the monthly report and the archive export (cross-domain)."""
