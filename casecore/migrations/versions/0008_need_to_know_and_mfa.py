"""need-to-know and mandatory MFA: teams, case assignment, holders, break-glass, recovery codes

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("counsellor") as b:
        b.add_column(sa.Column("team", sa.String(32), nullable=True))
        b.add_column(sa.Column("totp_pending", sa.Text(), nullable=True))
        b.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))
        b.add_column(sa.Column("mfa_enrolled_at", When, nullable=True))
        b.add_column(sa.Column("disabled_at", When, nullable=True))
    with op.batch_alter_table("staff_session") as b:
        b.add_column(sa.Column("stage", sa.String(8), nullable=False, server_default="full"))
        b.add_column(sa.Column("last_seen_at", When, nullable=True))
    with op.batch_alter_table("case") as b:
        b.add_column(sa.Column("assigned_counsellor_id", Id, sa.ForeignKey("counsellor.id", name="fk_case_assigned_counsellor"), nullable=True))
        b.add_column(sa.Column("team", sa.String(32), nullable=True))
    op.create_table(
        "conversation_holder",
        sa.Column("conversation_id", Id, sa.ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("counsellor_id", Id, sa.ForeignKey("counsellor.id"), primary_key=True),
        sa.Column("first_at", When, nullable=False),
    )
    op.create_table(
        "break_glass",
        sa.Column("id", Id, primary_key=True),
        sa.Column("counsellor_id", Id, sa.ForeignKey("counsellor.id"), nullable=False),
        sa.Column("case_id", Id, sa.ForeignKey("case.id", ondelete="CASCADE"), nullable=True),
        sa.Column("conversation_id", Id, sa.ForeignKey("conversation.id", ondelete="CASCADE"), nullable=True),
        sa.Column("profile_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("until", When, nullable=False),
    )
    op.create_index("ix_break_glass_who", "break_glass", ["counsellor_id", "case_id"])
    op.create_table(
        "mfa_recovery_code",
        sa.Column("id", Id, primary_key=True),
        sa.Column("counsellor_id", Id, sa.ForeignKey("counsellor.id", ondelete="CASCADE"), nullable=False, index=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("used_at", When, nullable=True),
    )
    # Whoever holds a conversation now, or claimed one (the audit trail), keeps reading it.
    op.execute(
        "INSERT INTO conversation_holder (conversation_id, counsellor_id, first_at) "
        "SELECT id, owner_counsellor_id, updated_at FROM conversation WHERE owner_counsellor_id IS NOT NULL"
    )
    op.execute(
        "INSERT INTO conversation_holder (conversation_id, counsellor_id, first_at) "
        "SELECT DISTINCT m.conversation_id, m.counsellor_id, MIN(m.created_at) FROM message m "
        "WHERE m.counsellor_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM conversation_holder h "
        "WHERE h.conversation_id = m.conversation_id AND h.counsellor_id = m.counsellor_id) "
        "GROUP BY m.conversation_id, m.counsellor_id"
    )
    # TOTP secrets set before this revision count as enrolled.
    op.execute("UPDATE counsellor SET mfa_enrolled_at = created_at WHERE totp_secret IS NOT NULL")


def downgrade() -> None:
    op.drop_table("mfa_recovery_code")
    op.drop_index("ix_break_glass_who", table_name="break_glass")
    op.drop_table("break_glass")
    op.drop_table("conversation_holder")
    with op.batch_alter_table("case") as b:
        b.drop_column("team")
        b.drop_column("assigned_counsellor_id")
    with op.batch_alter_table("staff_session") as b:
        b.drop_column("last_seen_at")
        b.drop_column("stage")
    with op.batch_alter_table("counsellor") as b:
        for col in ("disabled_at", "mfa_enrolled_at", "totp_last_step", "totp_pending", "team"):
            b.drop_column(col)
