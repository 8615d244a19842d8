"""Issue 13, clocks on a real calendar: the company's working hours per weekday, its dated exceptions (public
holidays and make-up working days, 调休) and the overrun explanations (超时说明).

No data step: with no weekly hours stored the calendar is Monday to Friday 09:00-18:00; China's public
holidays are loaded per year from the calendar page (dispatch/calendar.py, PUBLIC_HOLIDAYS; the demo loads
the current and the next year's).

Revision ID: 0012_calendar
Revises: 0011_invoices
Create Date: 2026-12-02 02:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0012_calendar"
down_revision = "0011_invoices"
branch_labels = None
depends_on = None

LIVE = "removed_at IS NULL"


def upgrade():
    op.create_table(
        "business_hours",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("start", sa.Time(), nullable=True),
        sa.Column("end", sa.Time(), nullable=True),
        sa.CheckConstraint("weekday >= 0 and weekday <= 6", name=op.f("ck_business_hours_weekday_range")),
        sa.CheckConstraint('(start is null and "end" is null) or (start is not null and "end" is not null '
                           'and "end" > start)', name=op.f("ck_business_hours_hours_order")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_business_hours")),
        sa.UniqueConstraint("weekday", name=op.f("uq_business_hours_weekday")),
    )
    op.create_table(
        "calendar_days",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("start", sa.Time(), nullable=True),
        sa.Column("end", sa.Time(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind in ('holiday','workday')", name=op.f("ck_calendar_days_kind_known")),
        sa.CheckConstraint('kind = \'holiday\' or (start is not null and "end" is not null and "end" > start)',
                           name=op.f("ck_calendar_days_workday_hours")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"], name=op.f("fk_calendar_days_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_days")),
    )
    with op.batch_alter_table("calendar_days", schema=None) as batch_op:
        batch_op.create_index("uq_calendar_days_live_day", ["day"], unique=True,
                              sqlite_where=sa.text(LIVE), postgresql_where=sa.text(LIVE))

    op.create_table(
        "overrun_explanations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("clock", sa.String(length=20), nullable=False),
        sa.Column("due", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("clock in ('dispatch','booking','response','resolution','confirmation')",
                           name=op.f("ck_overrun_explanations_clock_known")),
        sa.ForeignKeyConstraint(["call_id"], ["repair_calls.id"],
                                name=op.f("fk_overrun_explanations_call_id_repair_calls")),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_overrun_explanations_author_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overrun_explanations")),
        sa.UniqueConstraint("call_id", "clock", "due", name="uq_overrun_explanations_one_per_clock"),
    )
    with op.batch_alter_table("overrun_explanations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_overrun_explanations_call_id"), ["call_id"], unique=False)



def downgrade():
    with op.batch_alter_table("overrun_explanations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_overrun_explanations_call_id"))
    op.drop_table("overrun_explanations")
    with op.batch_alter_table("calendar_days", schema=None) as batch_op:
        batch_op.drop_index("uq_calendar_days_live_day")
    op.drop_table("calendar_days")
    op.drop_table("business_hours")
