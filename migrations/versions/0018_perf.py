"""Issue 16: indexes for every list filter and sort, the latest contact of each call.

- repair_calls: a status, category or priority with the id (the lists page newest first by id, keyset), a
  customer's calls by day (the archive), the clocks the desk home and "overdue" read (status with the
  response, resolution and completion times).
- call_notes: (call_id, at) in place of (call_id): a call's log in order and its latest word to the customer,
  read per open call (followup.py, queues.py) instead of grouping every note ever written; next_follow_up for
  the follow-ups promised. repair_calls (equipment_id): a search by serial number reaches the calls by it.
- visits: (start, end, status): a day's or a week's visits, the start bounded on both sides
  (dispatch.scheduling.visits.overlapping; a visit lasts at most 12 hours).
- Substring search (calls by number, problem, description, customer name or phone, serial number): on
  PostgreSQL GIN trigram indexes (pg_trgm), which answer ILIKE '%term%'; SQLite cannot use an index for that
  and keeps an always-empty partial index under the same name (WHERE 0), so the models describe both engines
  (dispatch.models.trigram_index).

Revision ID: 0018_perf
Revises: 0017_sessions
Create Date: 2026-12-07 23:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0018_perf"
down_revision = "0017_sessions"
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_repair_calls_status_id", "repair_calls", ["status", "id"]),
    ("ix_repair_calls_category_id", "repair_calls", ["category", "id"]),
    ("ix_repair_calls_priority_id", "repair_calls", ["priority", "id"]),
    ("ix_repair_calls_customer_received", "repair_calls", ["customer_id", "received_at"]),
    ("ix_repair_calls_equipment_id", "repair_calls", ["equipment_id"]),
    ("ix_repair_calls_status_response_deadline", "repair_calls", ["status", "response_deadline"]),
    ("ix_repair_calls_status_resolution_deadline", "repair_calls", ["status", "resolution_deadline"]),
    ("ix_repair_calls_status_completed_at", "repair_calls", ["status", "completed_at"]),
    ("ix_call_notes_call_at", "call_notes", ["call_id", "at"]),
    ("ix_call_notes_next_follow_up", "call_notes", ["next_follow_up"]),
    ("ix_visits_start_end_status", "visits", ["start", "end", "status"]),
    ("ix_visits_changed_at", "visits", ["changed_at"]),
    ("ix_repair_calls_site_id", "repair_calls", ["site_id"]),
    ("ix_carry_backs_status_returned_at", "carry_backs", ["status", "returned_at"]),
    # the monthly report's aggregates (dispatch/reports/kpis.py), bounded by the month
    ("ix_work_records_completed_at", "work_records", ["completed_at"]),
    ("ix_work_records_call_completed", "work_records", ["call_id", "completed_at", "id"]),
    ("ix_visit_events_visit_kind_at", "visit_events", ["visit_id", "kind", "at"]),
    ("ix_visits_call_created", "visits", ["call_id", "created_at", "id"]),
    ("ix_carry_backs_created_at", "carry_backs", ["created_at"]),
]

# "To invoice" reads only the lines with money still to bill (billing.models.TO_INVOICE_WHERE, written out
# here: a migration does not follow later changes of the models).
TO_INVOICE_WHERE = "invoice_id IS NULL AND voided_at IS NULL AND NOT covered AND amount > 0"

TRIGRAM_INDEXES = [
    ("ix_customers_name_trgm", "customers", "name"),
    ("ix_customers_phone_trgm", "customers", "phone"),
    ("ix_equipment_serial_number_trgm", "equipment", "serial_number"),
    ("ix_repair_calls_number_trgm", "repair_calls", "number"),
    ("ix_repair_calls_problem_type_trgm", "repair_calls", "problem_type"),
    ("ix_repair_calls_description_trgm", "repair_calls", "description"),
]


def upgrade():
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    op.drop_index("ix_call_notes_call_id", table_name="call_notes")
    op.create_index("ix_repair_calls_waiting", "repair_calls", ["booking_deadline", "id"],
                    sqlite_where=sa.text("status IN ('new', 'reopened') AND on_site IS 1"),
                    postgresql_where=sa.text("status IN ('new', 'reopened') AND on_site IS true"))
    op.create_index("ix_charge_lines_to_invoice", "charge_lines", ["call_id"], sqlite_where=sa.text(TO_INVOICE_WHERE),
                    postgresql_where=sa.text(TO_INVOICE_WHERE))
    if postgresql:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, column in TRIGRAM_INDEXES:
        op.create_index(name, table, [column], postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"},
                        sqlite_where=sa.text("0"))
    if postgresql:
        for table in ("repair_calls", "call_notes", "visits", "customers", "equipment"):
            op.execute(f"ANALYZE {table}")


def downgrade():
    op.drop_index("ix_charge_lines_to_invoice", table_name="charge_lines")
    op.drop_index("ix_repair_calls_waiting", table_name="repair_calls")
    for name, table, _column in TRIGRAM_INDEXES:
        op.drop_index(name, table_name=table)
    op.create_index("ix_call_notes_call_id", "call_notes", ["call_id"])
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
