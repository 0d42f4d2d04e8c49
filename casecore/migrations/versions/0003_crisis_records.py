"""crisis records: kinds of danger on the conversation, "look" flags, ever claimed

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.add_column(sa.Column("urgency_reasons", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("look_reasons", sa.JSON(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("ever_claimed", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("conversation") as batch:
        batch.drop_column("ever_claimed")
        batch.drop_column("look_reasons")
        batch.drop_column("urgency_reasons")
