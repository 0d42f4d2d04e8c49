"""consent by resident index: the consent ledger read on every inbound event finds its rows by
index (issue 19)

- consent_record (contact_point_id, id): `casecore.consent.current`, which every dialog step
  reads (a withdrawal in a later conversation counts), scanned the whole ledger, so per-event
  time grew with the residents served.

Revision ID: 0015
Revises: 0014
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_consent_record_contact_point", "consent_record", ["contact_point_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_consent_record_contact_point", table_name="consent_record")
