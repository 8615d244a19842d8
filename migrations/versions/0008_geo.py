"""Sites remember what their address was understood as: the resolved place (in its own script and in
Latin letters) and how precise the position is; the geocode cache keeps the same details.

The old offline gazetteer matched city names anywhere in an address (杭州市西湖区 went to a Xihu 1,470 km
away): its cached answers are dropped, so every address is looked up again by the new geocoder.

Revision ID: 0008_geo
Revises: 0007_calls
Create Date: 2026-12-02 01:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0008_geo"
down_revision = "0007_calls"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.add_column(sa.Column("place", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("place_latin", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("precision", sa.String(length=16), nullable=True))
    with op.batch_alter_table("geocode_cache", schema=None) as batch_op:
        batch_op.add_column(sa.Column("details", sa.JSON(), nullable=True))
    op.execute("DELETE FROM geocode_cache WHERE provider = 'offline'")
    # Sites placed by hand keep their position, now marked exact.
    op.execute("UPDATE sites SET precision = 'exact' WHERE geocoded_by = 'given'")


def downgrade():
    with op.batch_alter_table("geocode_cache", schema=None) as batch_op:
        batch_op.drop_column("details")
    with op.batch_alter_table("sites", schema=None) as batch_op:
        batch_op.drop_column("precision")
        batch_op.drop_column("place_latin")
        batch_op.drop_column("place")
