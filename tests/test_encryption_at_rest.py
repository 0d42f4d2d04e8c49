"""A raw look at the database finds none of the personal values a resident entered."""

from __future__ import annotations

import pytest
from sqlalchemy import inspect, select, text

from casecore import crypto
from casecore.db import transaction
from casecore.models import Case
from tests.helpers import PERSONAL_VALUES, run_intake


async def _raw_dump(running) -> str:
    chunks: list[str] = []
    async with running.ctx.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        for table in tables:
            rows = (await conn.execute(text(f'SELECT * FROM "{table}"'))).all()
            chunks.extend(str(v) for row in rows for v in row)
    return "\n".join(chunks)


async def test_no_personal_value_is_stored_in_clear(running) -> None:
    _session, reply = await run_intake(running.client)
    dump = await _raw_dump(running)
    assert "v2." in dump  # ciphertexts are there, sealed per resident (crypto-shredding)
    for value in PERSONAL_VALUES:
        assert value not in dump, f"{value!r} found in clear"
    # …and the case core reads them back.
    async with transaction(running.ctx.sessions) as s:
        case = await s.get(Case, reply["case_id"])
        assert case.name == "山田花子" and case.contact_detail == "09012345678"


def test_tampered_or_foreign_ciphertext_is_refused() -> None:
    a = crypto.FieldCipher.from_secrets("one secret key, long enough")
    b = crypto.FieldCipher.from_secrets("another secret key entirely")
    token = a.encrypt("山田花子")
    assert a.decrypt(token) == "山田花子"
    with pytest.raises(crypto.DecryptionError):
        b.decrypt(token)
    with pytest.raises(crypto.DecryptionError):
        a.decrypt(token[:-4] + "AAAA")


def test_key_rotation_reads_old_and_writes_new() -> None:
    old = crypto.FieldCipher.from_secrets("the old secret key 0123456789")
    token = old.encrypt("090-1234-5678")
    rotated = crypto.FieldCipher.from_secrets("the new secret key 9876543210", ["the old secret key 0123456789"])
    assert rotated.decrypt(token) == "090-1234-5678"
    assert rotated.key_id_of(rotated.encrypt("x")) != old.key_id_of(token)


async def test_blind_index_finds_a_contact_without_storing_it(running_sqlite) -> None:
    from casecore import store

    async with transaction(running_sqlite.ctx.sessions) as s:
        a = await store.contact_point(s, "minato-tokyo", "email", "hanako@example.jp")
        b = await store.contact_point(s, "minato-tokyo", "email", "hanako@example.jp")
        assert a.id == b.id
        raw = (await s.execute(select(text("external_id, external_id_index FROM contact_point")))).all()
    assert all("hanako" not in str(v) for row in raw for v in row)
