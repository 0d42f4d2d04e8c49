"""reports and survey: monthly report deliveries, anonymous survey answers

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "report_delivery",
        sa.Column("id", Id, primary_key=True),
        sa.Column("profile_id", sa.String(64), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("profile_id", "month", name="uq_report_delivery_month"),
    )
    op.create_table(
        "survey_answer",
        sa.Column("id", Id, primary_key=True),
        sa.Column("profile_id", sa.String(64), nullable=False, index=True),
        sa.Column("month", sa.String(7), nullable=False, index=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("helped", sa.String(8), nullable=True),
        sa.Column("easy", sa.String(8), nullable=True),
        sa.Column("again", sa.String(8), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("has_comment", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("survey_answer")
    op.drop_table("report_delivery")
