"""Erasing one resident (a contact point and everything that hangs off it) or a whole profile.

Rows are found generically through foreign keys: any table of the metadata with a column
referencing contact_point, conversation or case is reached, so tables added later join
without a change here. A reference declared ON DELETE SET NULL (a lead's block of a device,
say) is cut instead of deleted. The resident's data keys are returned for the caller to
destroy after the commit (casecore.keys): that is what makes old backups unreadable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, delete, or_, select, type_coerce, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.types import Text

from casecore import keys
from casecore.models import AuditEvent, Base, Case, ContactPoint, Conversation
from casecore.types import ENCRYPTED_TYPES

PARENTS = ("contact_point", "conversation", "case")


@dataclass
class Erased:
    rows: dict[str, int] = field(default_factory=dict)  # table -> rows deleted
    key_ids: set[str] = field(default_factory=set)
    contact_points: int = 0

    def add(self, other: Erased) -> None:
        for t, n in other.rows.items():
            self.rows[t] = self.rows.get(t, 0) + n
        self.key_ids |= other.key_ids
        self.contact_points += other.contact_points


@dataclass
class Scope:
    """The ids of one resident's rows in the three parent tables."""

    ids: dict[str, list[int]]

    def empty(self) -> bool:
        return not any(self.ids.values())


async def scope_of(s: AsyncSession, contact_point_ids: list[int]) -> Scope:
    convs = list((await s.scalars(select(Conversation.id).where(Conversation.contact_point_id.in_(contact_point_ids)))).all())
    cases = list((await s.scalars(select(Case.id).where(Case.contact_point_id.in_(contact_point_ids)))).all())
    return Scope({"contact_point": list(contact_point_ids), "conversation": convs, "case": cases})


def _references(table: Table) -> list[tuple[Any, str, str | None]]:
    """(column, parent table, ondelete) for each FK of `table` to a parent."""
    out = []
    for fk in table.foreign_keys:
        if fk.column.table.name in PARENTS and fk.column.name == "id":
            out.append((fk.parent, fk.column.table.name, fk.ondelete))
    return out


def _encrypted(table: Table) -> list[Any]:
    return [c for c in table.columns if isinstance(c.type, ENCRYPTED_TYPES)]


async def _key_ids(s: AsyncSession, table: Table, where: Any) -> set[str]:
    """Every resident key any row sealed under (a legacy resident may have had two)."""
    cols = _encrypted(table)
    if not cols:
        return set()
    found: set[str] = set()
    for row in (await s.execute(select(*[type_coerce(c, Text) for c in cols]).where(where))).all():
        found |= {k for k in (keys.kid_of_token(v) for v in row) if k}
    return found


async def erase_scope(s: AsyncSession, scope: Scope) -> Erased:
    """Delete every row of these residents, children first; returns counts and key ids."""
    out = Erased(contact_points=len(scope.ids["contact_point"]))
    if scope.empty():
        return out
    out.key_ids |= set((await s.scalars(select(ContactPoint.data_key_id).where(
        ContactPoint.id.in_(scope.ids["contact_point"]), ContactPoint.data_key_id.is_not(None)))).all())
    for table in reversed(Base.metadata.sorted_tables):
        cut, gone = [], []
        for col, parent, ondelete in _references(table):
            if scope.ids[parent]:
                (cut if (ondelete or "").upper() == "SET NULL" else gone).append((col, scope.ids[parent]))
        if table.name in PARENTS and scope.ids[table.name]:
            gone.append((table.c.id, scope.ids[table.name]))
        for col, ids in cut:
            await s.execute(update(table).where(col.in_(ids)).values({col.name: None}))
        if gone:
            where = or_(*[col.in_(ids) for col, ids in gone])
            out.key_ids |= await _key_ids(s, table, where)
            n = (await s.execute(delete(table).where(where))).rowcount or 0
            if n:
                out.rows[table.name] = out.rows.get(table.name, 0) + n
    return out


async def erase_audit_of(s: AsyncSession, scope: Scope) -> int:
    """Audit rows about these residents' conversations and cases (ids and codes only); used at
    the end of a contract, where nothing of the profile may stay."""
    n = 0
    for kind in ("conversation", "case"):
        ids = [str(i) for i in scope.ids[kind]]
        for chunk in range(0, len(ids), 500):
            n += (await s.execute(delete(AuditEvent).where(
                AuditEvent.target_type == kind, AuditEvent.target_id.in_(ids[chunk:chunk + 500])))).rowcount or 0
    return n


async def profile_contact_points(s: AsyncSession, profile_id: str) -> list[int]:
    return list((await s.scalars(select(ContactPoint.id).where(ContactPoint.profile_id == profile_id))).all())


async def erase_profile_rows(s: AsyncSession, profile_id: str) -> dict[str, int]:
    """Rows of any other table that carry this profile's id (reports sent, survey answers,
    incidents...), after its residents are gone."""
    out: dict[str, int] = {}
    for table in reversed(Base.metadata.sorted_tables):
        if "profile_id" in table.c and table.name not in PARENTS:
            n = (await s.execute(delete(table).where(table.c.profile_id == profile_id))).rowcount or 0
            if n:
                out[table.name] = n
    return out


def destroy_keys(key_ids: set[str], scope: str | None = None) -> int:
    """After the commit: the data keys go; with `scope` (a profile) every key of it goes too."""
    ring = keys.ring()
    if ring is None:
        return 0
    kids = set(key_ids) | (set(ring.kids(scope)) if scope else set())
    return ring.destroy(kids)
