"""case work after the intake: triage, referrals, assessment and plan versions, reviews,
blind-index search keys (issue 13)

Revision ID: 0010
Revises: 0009
"""
import os

import sqlalchemy as sa
from alembic import op

from casecore import crypto

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
At = sa.DateTime(timezone=True)


def _case_fk() -> sa.Column:
    return sa.Column("case_id", Id, sa.ForeignKey("case.id", ondelete="CASCADE"), nullable=False, index=True)


def _counsellor(name: str) -> sa.Column:
    return sa.Column(name, Id, sa.ForeignKey("counsellor.id"), nullable=True)


def upgrade() -> None:
    op.create_table(
        "casework_triage",
        sa.Column("id", Id, primary_key=True), _case_fk(),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        _counsellor("counsellor_id"),
        sa.Column("at", At, nullable=False),
    )
    op.create_table(
        "casework_referral",
        sa.Column("id", Id, primary_key=True), _case_fk(),
        sa.Column("agency", sa.String(64), nullable=False),
        sa.Column("consent_record_id", Id, sa.ForeignKey("consent_record.id"), nullable=False),
        sa.Column("shared", sa.Text(), nullable=False),
        sa.Column("made_at", At, nullable=False),
        _counsellor("made_by"),
        sa.Column("acceptance", sa.String(16), nullable=False),
        sa.Column("accepted_at", At, nullable=True),
        sa.Column("outcome", sa.Text(), nullable=True),
        sa.Column("outcome_at", At, nullable=True),
    )
    op.create_table(
        "casework_document",
        sa.Column("id", Id, primary_key=True), _case_fk(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.String(64), nullable=False),
        sa.Column("template_version", sa.String(32), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        _counsellor("counsellor_id"),
        sa.Column("created_at", At, nullable=False),
        sa.Column("approved_on", sa.Date(), nullable=True),
        _counsellor("approved_by"),
        sa.Column("approval_note", sa.Text(), nullable=True),
        sa.UniqueConstraint("case_id", "kind", "version", name="uq_casework_document_version"),
    )
    op.create_table(
        "casework_review",
        sa.Column("id", Id, primary_key=True), _case_fk(),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("months", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("done_at", At, nullable=True),
        _counsellor("done_by"),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", At, nullable=False),
    )
    op.create_index("ix_casework_review_due", "casework_review", ["done_at", "due_on"])
    op.create_table(
        "casework_search_key",
        sa.Column("id", Id, primary_key=True), _case_fk(),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
    )
    op.create_index("ix_casework_search_key", "casework_search_key", ["kind", "digest"])
    _backfill_search_keys()


def _cipher() -> crypto.FieldCipher:
    try:
        return crypto.cipher()
    except RuntimeError:
        secret = os.environ.get("MADOGUCHI_SECRET_KEY")
        if not secret:
            raise RuntimeError("indexing existing cases needs the field-encryption secret: set "
                               "MADOGUCHI_SECRET_KEY (or let `madoguchi serve` run the migration)") from None
        return crypto.FieldCipher.from_secrets(secret)


def _backfill_search_keys() -> None:
    """Cases from before this revision become findable by name and phone (blind index)."""
    from casecore.casework.search import keys_of

    conn = op.get_bind()
    rows = list(conn.execute(sa.text('SELECT id, name, contact_method, contact_detail FROM "case"')))
    if not rows:
        return
    cipher = _cipher()
    keys = sa.table("casework_search_key", sa.column("case_id"), sa.column("kind"), sa.column("digest"))
    values = []
    for row in rows:
        try:
            name = cipher.decrypt(row.name) if row.name else None
            detail = cipher.decrypt(row.contact_detail) if row.contact_detail else None
        except crypto.DecryptionError:
            continue  # under a key this process does not hold: indexed on its next change
        values += [{"case_id": row.id, "kind": k, "digest": d} for k, d in keys_of(name, row.contact_method, detail, cipher)]
    if values:
        op.bulk_insert(keys, values)


def downgrade() -> None:
    op.drop_index("ix_casework_search_key", table_name="casework_search_key")
    op.drop_table("casework_search_key")
    op.drop_index("ix_casework_review_due", table_name="casework_review")
    op.drop_table("casework_review")
    op.drop_table("casework_document")
    op.drop_table("casework_referral")
    op.drop_table("casework_triage")
