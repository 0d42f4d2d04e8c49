"""hot path indexes: every per-event query finds its rows by index (issue 19)

- conversation (contact_point_id, status): the open conversation of a resident, looked up on
  every inbound event (it scanned the table: per-event time grew with stored conversations);
- consent_record (conversation_id): the consent rows attached to a new case;
- case (contact_point_id): a resident's cases.

Revision ID: 0007
Revises: 0006
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_conversation_contact_point", "conversation", ["contact_point_id", "status"]),
    ("ix_consent_record_conversation", "consent_record", ["conversation_id"]),
    ("ix_case_contact_point", "case", ["contact_point_id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
