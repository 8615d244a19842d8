"""Booking (issue 10): one live visit per call unless a second technician is booked on purpose, the
customer's request behind a late start, and a print counter of its own for the signed voucher.

- visits.additional: a second technician on the same call, booked explicitly. A partial unique index
  (both engines) holds "one live visit per call" for the others; calls that already have several live
  visits keep them, the later ones marked additional.
- visits.customer_requested: the start lies after the booking deadline because the customer asked for
  that day (the written reason stays in override_reason).
- visits.voucher_print_count: prints of the signed voucher, apart from the slip's print_count. Prints made
  before this revision are split by the audit trail: a print at or after the signature was the voucher's.

Revision ID: 0006_booking
Revises: 0005_former_technicians
Create Date: 2026-12-03 01:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "0006_booking"
down_revision = "0005_former_technicians"
branch_labels = None
depends_on = None

LIVE = ("scheduled", "on_the_way", "on_site")
ONE_LIVE_VISIT_WHERE = "status IN ('scheduled', 'on_the_way', 'on_site') AND NOT additional"


def _visits() -> sa.TableClause:
    return sa.table("visits", sa.column("id", sa.Integer), sa.column("call_id", sa.Integer),
                    sa.column("status", sa.String), sa.column("additional", sa.Boolean),
                    sa.column("print_count", sa.Integer), sa.column("voucher_print_count", sa.Integer))


def upgrade():
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("voucher_print_count", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("additional", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("customer_requested", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))

    conn = op.get_bind()
    visits = _visits()
    earlier = visits.alias("earlier")
    # Calls booked twice before the rule: the first live visit holds the call, the others become additional.
    conn.execute(visits.update().where(
        visits.c.status.in_(LIVE),
        sa.exists().where(earlier.c.call_id == visits.c.call_id, earlier.c.status.in_(LIVE),
                          earlier.c.id < visits.c.id)).values(additional=True))

    # The prints counted so far were one counter for both documents: the voucher's are those printed at or
    # after the customer's signature.
    audit = sa.table("audit_events", sa.column("entity_type", sa.String), sa.column("entity_id", sa.Integer),
                     sa.column("action", sa.String), sa.column("at", sa.DateTime))
    signatures = sa.table("signatures", sa.column("visit_id", sa.Integer), sa.column("signed_at", sa.DateTime))
    voucher_prints = (sa.select(sa.func.count()).select_from(audit.join(signatures, signatures.c.visit_id == audit.c.entity_id))
                      .where(audit.c.entity_type == "visits", audit.c.action == "visit.slip_printed",
                             audit.c.entity_id == visits.c.id, audit.c.at >= signatures.c.signed_at)
                      .scalar_subquery())
    signed = sa.select(signatures.c.visit_id).scalar_subquery()
    conn.execute(visits.update().where(visits.c.id.in_(signed)).values(voucher_print_count=voucher_prints))
    conn.execute(visits.update().where(visits.c.voucher_print_count > 0).values(
        print_count=sa.case((visits.c.print_count > visits.c.voucher_print_count,
                             visits.c.print_count - visits.c.voucher_print_count), else_=0)))

    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.create_index("uq_visits_one_live_per_call", ["call_id"], unique=True,
                              sqlite_where=sa.text(ONE_LIVE_VISIT_WHERE),
                              postgresql_where=sa.text(ONE_LIVE_VISIT_WHERE))


def downgrade():
    visits = _visits()
    op.get_bind().execute(visits.update().where(visits.c.voucher_print_count > 0).values(
        print_count=visits.c.print_count + visits.c.voucher_print_count))
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_index("uq_visits_one_live_per_call")
        batch_op.drop_column("customer_requested")
        batch_op.drop_column("additional")
        batch_op.drop_column("voucher_print_count")
