"""Issue 12, finance: invoices, their lines, credit notes, invoice payments; charge lines point at their live
invoice; on-site payments get the cash-up (handed in) and WeChat Pay / Alipay; customers a tax id;
contracts a fee and a billing period.

One migration for all of issue 12's schema (the finance helpers add their tables and columns here).

Revision ID: 0011_invoices
Revises: 0010_carry_back
Create Date: 2026-12-12 01:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0011_invoices"
down_revision = "0010_carry_back"
branch_labels = None
depends_on = None

METHODS = "'cash','card','transfer','wechat','alipay'"
OLD_METHODS = "'cash','card','transfer'"


def upgrade():
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tax_id", sa.String(length=40), nullable=True))

    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("fee", sa.Numeric(precision=12, scale=2).with_variant(sa.String(20), "sqlite"),
                                      nullable=True))
        batch_op.add_column(sa.Column("billing_period", sa.String(length=10), nullable=True))
        batch_op.create_check_constraint(
            "billing_period_known", "billing_period is null or billing_period in ('monthly','quarterly','yearly')")

    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("tax_rate", sa.Numeric(precision=10, scale=4).with_variant(sa.String(20), "sqlite"),
                  nullable=False),
        sa.Column("subtotal", sa.Numeric(precision=12, scale=2).with_variant(sa.String(20), "sqlite"),
                  nullable=False),
        sa.Column("tax", sa.Numeric(precision=12, scale=2).with_variant(sa.String(20), "sqlite"), nullable=False),
        sa.Column("total", sa.Numeric(precision=12, scale=2).with_variant(sa.String(20), "sqlite"), nullable=False),
        sa.Column("buyer_name", sa.String(length=200), nullable=False),
        sa.Column("buyer_address", sa.String(length=500), nullable=True),
        sa.Column("buyer_tax_id", sa.String(length=40), nullable=True),
        sa.Column("seller_name", sa.String(length=200), nullable=False),
        sa.Column("seller_address", sa.String(length=500), nullable=True),
        sa.Column("seller_tax_id", sa.String(length=40), nullable=True),
        sa.Column("seller_bank", sa.String(length=300), nullable=True),
        sa.Column("fapiao_number", sa.String(length=40), nullable=True),
        sa.Column("fapiao_date", sa.Date(), nullable=True),
        sa.Column("void_reason", sa.Text(), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_by_id", sa.Integer(), nullable=True),
        sa.Column("contract_id", sa.Integer(), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=True),
        sa.Column("period_end", sa.Date(), nullable=True),
        sa.CheckConstraint("status in ('issued','void')", name=op.f("ck_invoices_status_known")),
        sa.CheckConstraint("kind in ('calls','contract')", name=op.f("ck_invoices_kind_known")),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_invoices_customer_id_customers")),
        sa.ForeignKeyConstraint(["issued_by_id"], ["users.id"], name=op.f("fk_invoices_issued_by_id_users")),
        sa.ForeignKeyConstraint(["voided_by_id"], ["users.id"], name=op.f("fk_invoices_voided_by_id_users")),
        sa.ForeignKeyConstraint(["contract_id"], ["contracts.id"], name=op.f("fk_invoices_contract_id_contracts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name=op.f("uq_invoices_number")),
        sa.UniqueConstraint("contract_id", "period_start", name=op.f("uq_invoices_contract_id")),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_issued_at"), ["issued_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_contract_id"), ["contract_id"], unique=False)

    op.create_table(
        "invoice_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=True),
        sa.Column("charge_line_id", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("quantity", sa.Numeric(precision=10, scale=4).with_variant(sa.String(20), "sqlite"),
                  nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=12, scale=2).with_variant(sa.String(20), "sqlite"),
                  nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2).with_variant(sa.String(20), "sqlite"),
                  nullable=False),
        sa.Column("covered", sa.Boolean(), nullable=False),
        sa.Column("covered_by", sa.String(length=300), nullable=True),
        sa.Column("category", sa.String(length=20), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_invoice_lines_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["call_id"], ["repair_calls.id"],
                                name=op.f("fk_invoice_lines_call_id_repair_calls")),
        sa.ForeignKeyConstraint(["charge_line_id"], ["charge_lines.id"],
                                name=op.f("fk_invoice_lines_charge_line_id_charge_lines")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_lines")),
    )
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_lines_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_lines_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_lines_charge_line_id"), ["charge_line_id"], unique=False)

    op.create_table(
        "credit_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2).with_variant(sa.String(20), "sqlite"),
                  nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("issued_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"], name=op.f("fk_credit_notes_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["issued_by_id"], ["users.id"], name=op.f("fk_credit_notes_issued_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint("number", name=op.f("uq_credit_notes_number")),
        sa.UniqueConstraint("invoice_id", name=op.f("uq_credit_notes_invoice_id")),
    )
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_notes_issued_at"), ["issued_at"], unique=False)

    op.create_table(
        "invoice_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("invoice_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=12, scale=2).with_variant(sa.String(20), "sqlite"),
                  nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_by_id", sa.Integer(), nullable=True),
        sa.Column("reference", sa.String(length=100), nullable=True),
        sa.Column("onsite_payment_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(f"method in ({METHODS})", name=op.f("ck_invoice_payments_method_known")),
        sa.ForeignKeyConstraint(["invoice_id"], ["invoices.id"],
                                name=op.f("fk_invoice_payments_invoice_id_invoices")),
        sa.ForeignKeyConstraint(["received_by_id"], ["users.id"],
                                name=op.f("fk_invoice_payments_received_by_id_users")),
        sa.ForeignKeyConstraint(["onsite_payment_id"], ["payments.id"],
                                name=op.f("fk_invoice_payments_onsite_payment_id_payments")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoice_payments")),
        sa.UniqueConstraint("onsite_payment_id", name=op.f("uq_invoice_payments_onsite_payment_id")),
    )
    with op.batch_alter_table("invoice_payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoice_payments_invoice_id"), ["invoice_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoice_payments_paid_at"), ["paid_at"], unique=False)

    with op.batch_alter_table("charge_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("invoice_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_charge_lines_invoice_id_invoices"), "invoices",
                                    ["invoice_id"], ["id"])
        batch_op.create_index(batch_op.f("ix_charge_lines_invoice_id"), ["invoice_id"], unique=False)

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handed_in_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("handed_in_to_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_payments_handed_in_to_id_users"), "users",
                                    ["handed_in_to_id"], ["id"])
        batch_op.drop_constraint(batch_op.f("ck_payments_method_known"), type_="check")
        batch_op.create_check_constraint("method_known", f"method in ({METHODS})")


def downgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_payments_method_known"), type_="check")
        batch_op.create_check_constraint("method_known", f"method in ({OLD_METHODS})")
        batch_op.drop_constraint(batch_op.f("fk_payments_handed_in_to_id_users"), type_="foreignkey")
        batch_op.drop_column("handed_in_to_id")
        batch_op.drop_column("handed_in_at")

    with op.batch_alter_table("charge_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_charge_lines_invoice_id"))
        batch_op.drop_constraint(batch_op.f("fk_charge_lines_invoice_id_invoices"), type_="foreignkey")
        batch_op.drop_column("invoice_id")

    with op.batch_alter_table("invoice_payments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_payments_paid_at"))
        batch_op.drop_index(batch_op.f("ix_invoice_payments_invoice_id"))
    op.drop_table("invoice_payments")
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_notes_issued_at"))
    op.drop_table("credit_notes")
    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoice_lines_charge_line_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_lines_call_id"))
        batch_op.drop_index(batch_op.f("ix_invoice_lines_invoice_id"))
    op.drop_table("invoice_lines")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_contract_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_issued_at"))
        batch_op.drop_index(batch_op.f("ix_invoices_status"))
        batch_op.drop_index(batch_op.f("ix_invoices_customer_id"))
    op.drop_table("invoices")

    with op.batch_alter_table("contracts", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_contracts_billing_period_known"), type_="check")
        batch_op.drop_column("billing_period")
        batch_op.drop_column("fee")

    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("tax_id")
