"""encrypt coded personal fields of cases: urgency reasons, categories, district, public
assistance (issue 17); existing rows are converted in place

Revision ID: 0005
Revises: 0004
"""
import json
import os

import sqlalchemy as sa
from alembic import op

from casecore import crypto

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON_FIELDS = ("urgency_reasons", "categories")
TEXT_FIELDS = ("district", "public_assistance")


def _cipher() -> crypto.FieldCipher:
    try:
        return crypto.cipher()
    except RuntimeError:
        secret = os.environ.get("MADOGUCHI_SECRET_KEY")
        if not secret:
            raise RuntimeError("converting existing cases needs the field-encryption secret: set "
                               "MADOGUCHI_SECRET_KEY (or let `madoguchi serve` run the migration)") from None
        return crypto.FieldCipher.from_secrets(secret)


def _rows(conn: sa.Connection) -> list[sa.Row]:
    return list(conn.execute(sa.text(
        "SELECT id, urgency_reasons, categories, district, public_assistance FROM \"case\"")))


def upgrade() -> None:
    conn = op.get_bind()
    rows = _rows(conn)  # read before the types change (JSON comes back decoded on PostgreSQL)
    pg = conn.dialect.name == "postgresql"
    with op.batch_alter_table("case") as batch:
        for name in JSON_FIELDS:
            batch.alter_column(name, type_=sa.Text(), existing_type=sa.JSON(), existing_nullable=False,
                               **({"postgresql_using": f"{name}::text"} if pg else {}))
        batch.alter_column("district", type_=sa.Text(), existing_type=sa.String(64), existing_nullable=True)
        batch.alter_column("public_assistance", type_=sa.Text(), existing_type=sa.String(8), existing_nullable=True)
    if not rows:
        return
    cipher = _cipher()
    for row in rows:
        values: dict[str, object] = {"id": row.id}
        for name in JSON_FIELDS:
            raw = getattr(row, name)
            value = json.loads(raw) if isinstance(raw, str) else (raw or [])
            values[name] = cipher.encrypt(json.dumps(value, ensure_ascii=False, separators=(",", ":")))
        for name in TEXT_FIELDS:
            raw = getattr(row, name)
            values[name] = None if raw is None else cipher.encrypt(raw)
        conn.execute(sa.text(
            'UPDATE "case" SET urgency_reasons = :urgency_reasons, categories = :categories, '
            "district = :district, public_assistance = :public_assistance WHERE id = :id"), values)


def downgrade() -> None:
    conn = op.get_bind()
    rows = _rows(conn)
    cipher = _cipher() if rows else None
    for row in rows:
        assert cipher is not None
        values: dict[str, object] = {"id": row.id}
        for name in (*JSON_FIELDS, *TEXT_FIELDS):
            raw = getattr(row, name)
            values[name] = None if raw is None else cipher.decrypt(raw)
        conn.execute(sa.text(
            'UPDATE "case" SET urgency_reasons = :urgency_reasons, categories = :categories, '
            "district = :district, public_assistance = :public_assistance WHERE id = :id"), values)
    pg = conn.dialect.name == "postgresql"
    with op.batch_alter_table("case") as batch:
        for name in JSON_FIELDS:
            batch.alter_column(name, type_=sa.JSON(), existing_type=sa.Text(), existing_nullable=False,
                               **({"postgresql_using": f"{name}::json"} if pg else {}))
        batch.alter_column("district", type_=sa.String(64), existing_type=sa.Text(), existing_nullable=True)
        batch.alter_column("public_assistance", type_=sa.String(8), existing_type=sa.Text(), existing_nullable=True)
