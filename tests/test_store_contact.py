"""The case core's race-safe writes, on SQLite and on PostgreSQL: the contact point made by a
first message (INSERT … ON CONFLICT DO NOTHING RETURNING, written as cacheable text) and the
per-year case counter (an upsert). The SQL is shared by both dialects, so both run it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from casecore import keys, store
from casecore.db import transaction
from casecore.models import ContactPoint
from tests.conftest import Running


async def test_a_first_message_makes_one_sealed_contact_point_found_again_later(running: Running) -> None:
    async with transaction(running.ctx.sessions) as s:
        made, new = await store.find_or_create_contact(s, "minato-tokyo", "line", "U-store-1")
        assert new and made.id is not None and made.external_id == "U-store-1" and made.blocked is False
        assert made.created_at is not None and made.created_at.tzinfo is not None
    async with transaction(running.ctx.sessions) as s:
        again, new_again = await store.find_or_create_contact(s, "minato-tokyo", "line", "U-store-1")
        other, other_new = await store.find_or_create_contact(s, "minato-tokyo", "telegram", "U-store-1")
    assert (again.id, new_again) == (made.id, False)
    assert other_new and other.id != made.id  # another channel is another contact point
    async with running.ctx.engine.connect() as conn:  # the id is stored sealed, never in clear
        raw = (await conn.exec_driver_sql(f"SELECT external_id FROM contact_point WHERE id = {int(made.id)}")).scalar_one()
    assert "U-store-1" not in str(raw)


async def test_a_racing_first_message_gets_the_row_the_other_made_and_its_spare_key_is_destroyed(
        running: Running, monkeypatch: Any) -> None:
    async with transaction(running.ctx.sessions) as s:
        first, _ = await store.find_or_create_contact(s, "minato-tokyo", "line", "U-race")
    # The second first message looked before the first one's row was committed: its look-up
    # missed, so its INSERT meets the row and does nothing.
    real_scalar = type(s).scalar
    missed: list[bool] = []

    async def miss_once(self: Any, statement: Any, *args: Any, **kwargs: Any) -> Any:
        if statement is store._CONTACT and not missed:
            missed.append(True)
            return None
        return await real_scalar(self, statement, *args, **kwargs)

    monkeypatch.setattr(type(s), "scalar", miss_once)
    ring = keys.ring()
    assert ring is not None  # the app runs with per-resident keys
    created: list[str] = []
    destroyed: list[str] = []
    if ring is not None:
        real_create, real_destroy = ring.create, ring.destroy
        monkeypatch.setattr(ring, "create", lambda profile: created.append(real_create(profile)) or created[-1])
        monkeypatch.setattr(ring, "destroy", lambda kids: destroyed.extend(kids) or real_destroy(kids))
    async with transaction(running.ctx.sessions) as s:
        second, new = await store.find_or_create_contact(s, "minato-tokyo", "line", "U-race")
        count = await s.scalar(select(func.count()).select_from(ContactPoint).where(
            ContactPoint.external_id_index == first.external_id_index))
    assert missed and (second.id, new, count) == (first.id, False, 1)
    assert second.external_id == "U-race"
    assert created and destroyed == created  # the key made for the row that was not written


async def test_case_numbers_count_up_per_year(running: Running) -> None:
    async with transaction(running.ctx.sessions) as s:
        a = await store.next_case_number(s, 2031)
        b = await store.next_case_number(s, 2031)
        other_year = await store.next_case_number(s, 2032)
    async with transaction(running.ctx.sessions) as s:
        c = await store.next_case_number(s, 2031)
    assert (a, b, other_year, c) == ("2031-000001", "2031-000002", "2032-000001", "2031-000003")
