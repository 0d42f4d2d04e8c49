"""consent and data lifecycle: per-resident data keys, legal hold, incident records

Existing rows keep their v1 tokens (global key), still readable; a resident's first write
after this revision gives them a data key, and new writes are sealed under it (v2).

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("contact_point") as batch:
        batch.add_column(sa.Column("data_key_id", sa.String(24), nullable=True))
        batch.create_index("ix_contact_point_data_key_id", ["data_key_id"])
    with op.batch_alter_table("case") as batch:
        batch.add_column(sa.Column("legal_hold", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "incident_record",
        sa.Column("id", Id, primary_key=True),
        sa.Column("profile_id", sa.String(64), nullable=False, index=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("data_kinds", sa.JSON(), nullable=False),
        sa.Column("resident_count", sa.Integer(), nullable=False),
        sa.Column("case_numbers", sa.Text(), nullable=True),
        sa.Column("measures", sa.Text(), nullable=True),
        sa.Column("timeline", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("found_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("counsellor.id"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("incident_record")
    with op.batch_alter_table("case") as batch:
        batch.drop_column("legal_hold")
    with op.batch_alter_table("contact_point") as batch:
        batch.drop_index("ix_contact_point_data_key_id")
        batch.drop_column("data_key_id")
