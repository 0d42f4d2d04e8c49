"""survey in every channel: the chat survey's progress on the contact point

Revision ID: 0013
Revises: 0011
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("contact_point") as batch:
        batch.add_column(sa.Column("survey_state", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("contact_point") as batch:
        batch.drop_column("survey_state")
