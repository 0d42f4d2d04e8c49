"""channel media: a resident's pictures and documents, sealed under their key (issue 16)

Revision ID: 0014
Revises: 0013
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "channel_media",
        sa.Column("id", Id, primary_key=True),
        sa.Column("conversation_id", Id, sa.ForeignKey("conversation.id", ondelete="CASCADE"), nullable=False),
        sa.Column("message_id", Id, sa.ForeignKey("message.id", ondelete="CASCADE"), nullable=False),
        sa.Column("direction", sa.String(4), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=True),
        sa.Column("filename", sa.Text(), nullable=True),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("thumbnail", sa.Text(), nullable=True),
        sa.Column("counsellor_id", Id, sa.ForeignKey("counsellor.id"), nullable=True),
        sa.Column("album", sa.String(32), nullable=True),
        sa.Column("downloaded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_channel_media_conversation", "channel_media", ["conversation_id", "id"])
    op.create_index("ix_channel_media_message_id", "channel_media", ["message_id"])


def downgrade() -> None:
    op.drop_index("ix_channel_media_message_id", table_name="channel_media")
    op.drop_index("ix_channel_media_conversation", table_name="channel_media")
    op.drop_table("channel_media")
