"""console for a busy centre: presence, canned replies, timeline notes, read markers, escalations

Revision ID: 0011
Revises: 0010
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "desk_presence",
        sa.Column("counsellor_id", Id, sa.ForeignKey("counsellor.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "desk_canned_reply",
        sa.Column("id", Id, primary_key=True),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("label", sa.String(128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("updated_by", Id, sa.ForeignKey("counsellor.id"), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("key", "language", name="uq_desk_canned_key_language"),
    )
    op.create_table(
        "desk_note",
        sa.Column("id", Id, primary_key=True),
        sa.Column("conversation_id", Id, sa.ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("case_id", Id, sa.ForeignKey("case.id"), nullable=True),
        sa.Column("counsellor_id", Id, sa.ForeignKey("counsellor.id"), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),  # EncryptedText in the model
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "desk_read_marker",
        sa.Column("counsellor_id", Id, sa.ForeignKey("counsellor.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("conversation_id", Id, sa.ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("last_message_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "desk_escalation",
        sa.Column("id", Id, primary_key=True),
        sa.Column("conversation_id", Id, sa.ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("waiting_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("conversation_id", "waiting_since", name="uq_desk_escalation_wait"),
    )


def downgrade() -> None:
    for table in ("desk_escalation", "desk_read_marker", "desk_note", "desk_canned_reply", "desk_presence"):
        op.drop_table(table)
