"""web chat origins (hashed device and network) and blocks that hold (issue 17)

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

from casecore.types import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "webchat_origin",
        sa.Column("conversation_id", Id, sa.ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True,
                  autoincrement=False),
        sa.Column("device_hash", sa.String(64), nullable=False),
        sa.Column("network_hash", sa.String(64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "resident_block",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value_hash", sa.String(64), nullable=False),
        sa.Column("until", UTCDateTime(), nullable=False),
        sa.Column("conversation_id", Id, sa.ForeignKey("conversation.id", ondelete="SET NULL"), nullable=True),
        sa.Column("counsellor_id", Id, sa.ForeignKey("counsellor.id"), nullable=True),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_resident_block_value", "resident_block", ["kind", "value_hash"])


def downgrade() -> None:
    op.drop_index("ix_resident_block_value", "resident_block")
    op.drop_table("resident_block")
    op.drop_table("webchat_origin")
