"""Crypto-shredding (issue 12): each resident's fields are sealed under their own data key;
erasing them deletes their rows and destroys the key, so a backup taken before the erasure
(a copy of the SQLite file, a pg_dump) can no longer be read for them, yet still can for
everyone else. The raw database holds nothing readable of them at any time."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import inspect, select, text

from casecore import crypto, keys
from casecore.db import make_engine, make_sessionmaker, transaction
from casecore.models import Case, ContactPoint
from handoff.actions import erasure
from tests.helpers import JAPANESE_INTAKE, PERSONAL_VALUES, make_counsellor, run_intake

TOKEN = re.compile(rb"v2\.(r[0-9a-f]{20})\.[A-Za-z0-9_\-=]+")
OTHER = {
    "派遣の契約が切れて、家賃とカードの支払いができません。山田花子です。":
        "Mất việc ở nhà máy 🏭, không trả được tiền nhà <b>tháng này</b>. Tên tôi là グエン・ティ・ラン",
    "山田花子": "グエン・ティ・ラン",
    "090-1234-5678": "080-9876-5432",
}
OTHER_STEPS = [(k, OTHER.get(v, v)) for k, v in JAPANESE_INTAKE]


async def _backup(running) -> bytes:
    """What an operator's backup holds: pg_dump's output, or a copy of the SQLite file."""
    url = running.ctx.engine.url
    if url.get_backend_name() == "postgresql":
        uri = url.set(drivername="postgresql").render_as_string(hide_password=False)
        proc = await asyncio.create_subprocess_exec("pg_dump", "--data-only", uri, stdout=asyncio.subprocess.PIPE)
        out, _ = await proc.communicate()
        assert proc.returncode == 0
        return out
    src = sqlite3.connect(Path(url.database))
    copy = Path(url.database).with_suffix(".backup")
    dst = sqlite3.connect(copy)
    src.backup(dst)
    src.close(), dst.close()
    return copy.read_bytes()


async def _raw_now(running) -> bytes:
    """Every table as stored, plus (SQLite) the database file and its WAL byte for byte."""
    chunks: list[bytes] = [await _backup(running)]
    async with running.ctx.engine.connect() as conn:
        for table in await conn.run_sync(lambda c: inspect(c).get_table_names()):
            rows = (await conn.execute(text(f'SELECT * FROM "{table}"'))).all()
            chunks.append("\n".join(str(v) for row in rows for v in row).encode())
    db = running.ctx.engine.url.database
    if running.ctx.engine.url.get_backend_name() == "sqlite":
        for path in (Path(db), Path(db + "-wal")):
            if path.exists():
                chunks.append(path.read_bytes())
    return b"\n".join(chunks)


def _tokens(blob: bytes) -> list[str]:
    """The v2 tokens a backup holds: the fields of pg_dump's COPY lines, or every value of
    every table of the SQLite copy (its records have no separators to split on)."""
    if blob.startswith(b"SQLite format 3"):
        path = Path("/tmp") / f"shred-{abs(hash(blob))}.db"
        path.write_bytes(blob)
        db = sqlite3.connect(path)
        values = [str(v) for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
                  for row in db.execute(f'SELECT * FROM "{t}"') for v in row]
        db.close()
        path.unlink()
    else:
        values = re.split(rb"[\t\n]", blob)
        values = [v.decode() for v in values]
    return [v for v in values if TOKEN.fullmatch(v.encode())]


def _decrypt_all(blob: bytes, kid: str) -> list[str]:
    """Each token of this resident's key found in a backup, decrypted (raises when shredded)."""
    found = [t for t in _tokens(blob) if t.split(".")[1] == kid]
    assert found, "the backup holds this resident's tokens"
    return [crypto.cipher().decrypt(t) for t in found]


async def _kid(running, case_id: int) -> str:
    async with transaction(running.ctx.sessions) as s:
        case = await s.get(Case, case_id)
        return (await s.get(ContactPoint, case.contact_point_id)).data_key_id


async def test_erasure_shreds_one_resident_in_the_database_and_in_old_backups(running) -> None:
    _, a = await run_intake(running.client)
    _, b = await run_intake(running.client, OTHER_STEPS)
    kid_a, kid_b = await _kid(running, a["case_id"]), await _kid(running, b["case_id"])
    assert kid_a != kid_b and kid_a.startswith("r")
    before = await _backup(running)
    for value in PERSONAL_VALUES:
        assert value.encode() not in before  # never in clear, not even before the erasure
    assert any("山田花子" in t for t in _decrypt_all(before, kid_a))  # the backup reads, for now

    await make_counsellor(running.ctx, "lead1", role="lead")
    async with transaction(running.ctx.sessions) as s:
        from casecore.models import Counsellor
        lead = await s.scalar(select(Counsellor).where(Counsellor.login == "lead1"))
    done = await erasure.erase_case_resident(running.ctx, a["case_id"], lead, requested_by="resident",
                                             reason="erasure_request")
    assert done["keys_destroyed"] >= 1 and done["rows"]["case"] == 1 and done["rows"]["message"] > 10

    raw = await _raw_now(running)
    for value in [*PERSONAL_VALUES, "09012345678", kid_a]:
        assert value.encode() not in raw, value
    assert kid_a not in keys.ring().kids()
    with pytest.raises(keys.KeyDestroyed):
        _decrypt_all(before, kid_a)  # the old backup is unreadable for the erased resident…
    other = _decrypt_all(before, kid_b)  # …and still readable for everyone else
    assert any("グエン・ティ・ラン" in t for t in other) and any("🏭" in t for t in other)
    async with transaction(running.ctx.sessions) as s:
        assert await s.get(Case, a["case_id"]) is None
        assert (await s.get(Case, b["case_id"])).name == "グエン・ティ・ラン"


async def test_a_restored_sqlite_copy_reads_other_residents_but_not_the_erased_one(running_sqlite) -> None:
    running = running_sqlite
    _, a = await run_intake(running.client)
    _, b = await run_intake(running.client, OTHER_STEPS)
    await _backup(running)  # the copy beside the database file
    copy = Path(running.ctx.engine.url.database).with_suffix(".backup")
    await make_counsellor(running.ctx, "lead2", role="lead")
    async with transaction(running.ctx.sessions) as s:
        from casecore.models import Counsellor
        lead = await s.scalar(select(Counsellor).where(Counsellor.login == "lead2"))
    await erasure.erase_case_resident(running.ctx, a["case_id"], lead, requested_by="resident", reason="erasure_request")
    restored = make_engine(f"sqlite:///{copy}")
    try:
        async with transaction(make_sessionmaker(restored)) as s:
            assert (await s.get(Case, b["case_id"])).contact_detail == "08098765432"
        async with transaction(make_sessionmaker(restored)) as s:
            with pytest.raises(crypto.DecryptionError):
                await s.get(Case, a["case_id"])
    finally:
        await restored.dispose()


def test_rotation_rewraps_keys_and_old_tokens_stay_readable(tmp_path: Path) -> None:
    old = keys.KeyRing(tmp_path / "keys.db", ["the old master secret, long enough 0123"])
    kid = old.create("minato-tokyo")
    crypto.configure(crypto.FieldCipher.from_secrets("the old master secret, long enough 0123"))
    keys.configure(old)
    token = crypto.cipher().encrypt_for(kid, "山田花子 📞 090-1234-5678")
    v1 = crypto.cipher().encrypt("a v1 token from before per-resident keys")
    rotated = keys.KeyRing(tmp_path / "keys.db", ["a brand new master secret 9876543210", "the old master secret, long enough 0123"])
    # every data key (the one handed out and its batch's spares) once, then none
    assert rotated.rewrap() == len(old.kids()) == keys.SPARE_BATCH and rotated.rewrap() == 0
    fresh = keys.KeyRing(tmp_path / "keys.db", ["a brand new master secret 9876543210"])  # old master gone
    keys.configure(fresh)
    crypto.configure(crypto.FieldCipher.from_secrets("a brand new master secret 9876543210", ["the old master secret, long enough 0123"]))
    assert crypto.cipher().decrypt(token) == "山田花子 📞 090-1234-5678"
    assert crypto.cipher().decrypt(v1) == "a v1 token from before per-resident keys"
    keys.configure(None)



async def test_a_resident_from_before_per_resident_keys_gets_one_and_old_rows_still_read(running_sqlite) -> None:
    """Rows written before revision 0009 are v1 (global key) and keep reading; the resident's
    next write gives them a data key, and erasure destroys it."""
    from casecore.models import Conversation, Message

    ctx = running_sqlite.ctx
    cipher = crypto.cipher()
    async with ctx.engine.begin() as conn:  # as a 0006-era database holds them: v1, no key id
        await conn.execute(text(
            "INSERT INTO contact_point (id, profile_id, channel, external_id, external_id_index, blocked, created_at) "
            "VALUES (77, 'minato-tokyo', 'line', :ext, :idx, 0, '2026-01-05 00:00:00')"),
            {"ext": cipher.encrypt("Uold-resident"), "idx": cipher.blind_index("line:Uold-resident")})
        await conn.execute(text(
            "INSERT INTO conversation (id, contact_point_id, profile_id, channel, status, dialog_node, language, urgent, "
            "urgency_reasons, look_reasons, ever_claimed, consented_use, created_at, updated_at) VALUES "
            "(77, 77, 'minato-tokyo', 'line', 'bot', '', 'ja', 0, '[]', '[]', 0, 1, '2026-01-05 00:00:00', '2026-01-05 00:00:00')"))
        await conn.execute(text(
            "INSERT INTO message (conversation_id, direction, sender, channel, kind, text, multi, created_at) VALUES "
            "(77, 'in', 'resident', 'line', 'text', :t, 0, '2026-01-05 00:00:00')"), {"t": cipher.encrypt("昔の相談です 田中一郎")})
    async with transaction(ctx.sessions) as s:
        s.add(Message(conversation_id=77, direction="in", sender="resident", channel="line", text="新しい相談 田中一郎"))
    async with transaction(ctx.sessions) as s:
        cp = await s.get(ContactPoint, 77)
        assert cp.data_key_id is not None and cp.external_id == "Uold-resident"
        texts = (await s.scalars(select(Message.text).where(Message.conversation_id == 77).order_by(Message.id))).all()
        assert texts == ["昔の相談です 田中一郎", "新しい相談 田中一郎"]
    async with ctx.engine.connect() as conn:
        raw = (await conn.execute(text("SELECT text FROM message WHERE conversation_id = 77 ORDER BY id"))).scalars().all()
    assert raw[0].startswith("v1.") and raw[1].startswith(f"v2.{cp.data_key_id}.")
    async with transaction(ctx.sessions) as s:
        from casecore import erasure as core_erasure

        done = await core_erasure.erase_scope(s, await core_erasure.scope_of(s, [77]))
    assert done.key_ids == {cp.data_key_id} and done.rows["message"] == 2
    core_erasure.destroy_keys(done.key_ids)
    assert cp.data_key_id not in keys.ring().kids()
    async with transaction(ctx.sessions) as s:
        assert await s.get(Conversation, 77) is None


async def test_case_work_and_console_notes_are_sealed_and_shredded_with_the_resident(running_sqlite) -> None:
    """Triage reasons and counsellors' private notes are the resident's data too (issues 13, 14):
    sealed under their key, gone with the erasure, unreadable in an earlier backup."""
    from casecore.models import Conversation, Counsellor
    from handoff.actions import casework, desk

    running = running_sqlite
    _, a = await run_intake(running.client)
    await make_counsellor(running.ctx, "lead3", role="lead")
    async with transaction(running.ctx.sessions) as s:
        lead = await s.scalar(select(Counsellor).where(Counsellor.login == "lead3"))
        conv_id = await s.scalar(select(Conversation.id).where(Conversation.case_id == a["case_id"]))
    reason = "家賃を3か月滞納、大家さんから退去を求められている（田中ビル203号）"
    note = "電話で本人確認済み。弟さん（090-5555-0101）には知られたくないとのこと"
    await casework.record_triage(running.ctx, a["case_id"], lead, "referral", reason)
    await desk.add_note(running.ctx, lead, conv_id, note)
    kid = await _kid(running, a["case_id"])
    async with running.ctx.engine.connect() as conn:
        stored = [*(await conn.execute(text("SELECT reason FROM casework_triage"))).scalars(),
                  *(await conn.execute(text("SELECT text FROM desk_note"))).scalars()]
    assert stored and all(v.startswith(f"v2.{kid}.") for v in stored), stored
    before = await _backup(running)
    await erasure.erase_case_resident(running.ctx, a["case_id"], lead, requested_by="resident", reason="erasure_request")
    raw = await _raw_now(running)
    for value in (reason, note, "090-5555-0101", "田中ビル"):
        assert value.encode() not in raw
    with pytest.raises(keys.KeyDestroyed):
        _decrypt_all(before, kid)
