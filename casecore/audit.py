"""The audit trail: every staff read and every change, by whom and when; and its export for
the municipality's inspection (000 別紙11)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casecore.db import transaction
from casecore.models import AuditEvent, BreakGlass, Case, Conversation, Counsellor


async def record(
    session: AsyncSession,
    *,
    action: str,
    target_type: str,
    target_id: str | int,
    actor_type: str = "system",
    actor_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Add an audit row in the caller's transaction (so it commits or rolls back with it).

    `detail` must hold ids and codes only: it is stored in clear.
    """
    session.add(
        AuditEvent(
            actor_type=actor_type,
            actor_id=actor_id,
            action=action,
            target_type=target_type,
            target_id=str(target_id),
            detail=detail or {},
        )
    )


async def record_now(sessions: async_sessionmaker[AsyncSession], **kwargs: Any) -> None:
    """An audit row in a transaction of its own: a refusal or a failed login is answered with
    an error that rolls the request's transaction back, and its row must stay."""
    async with transaction(sessions) as s:
        await record(s, **kwargs)


EXPORT_COLUMNS = ("id", "at", "actor_type", "actor_id", "actor_login", "action", "target_type", "target_id",
                  "profile_id", "case_id", "detail", "reason")


async def _profiles_and_cases(s: AsyncSession, rows: list[AuditEvent]) -> dict[tuple[str, str], tuple[str | None, int | None]]:
    """(target_type, target_id) → (profile, case) for case and conversation targets."""
    case_ids = {int(r.target_id) for r in rows if r.target_type == "case" and r.target_id.isdigit()}
    case_ids |= {int(r.detail["case_id"]) for r in rows if isinstance(r.detail.get("case_id"), int)}
    conv_ids = {int(r.target_id) for r in rows if r.target_type == "conversation" and r.target_id.isdigit()}
    out: dict[tuple[str, str], tuple[str | None, int | None]] = {}
    if conv_ids:
        for cid, pid, case_id in (await s.execute(
                select(Conversation.id, Conversation.profile_id, Conversation.case_id).where(Conversation.id.in_(conv_ids)))).all():
            out[("conversation", str(cid))] = (pid, case_id)
    if case_ids:
        for cid, pid in (await s.execute(select(Case.id, Case.profile_id).where(Case.id.in_(case_ids)))).all():
            out[("case", str(cid))] = (pid, cid)
    return out


async def events(
    s: AsyncSession, *, start: datetime | None = None, end: datetime | None = None, profiles: Iterable[str] | None = None,
    staff_id: int | None = None, case_id: int | None = None, limit: int | None = None, reasons: bool = True,
) -> list[dict[str, Any]]:
    """Audit rows in [start, end), newest last, with each row's municipality and case resolved
    (a row about a case or conversation of another municipality is left out when `profiles`
    is given; rows about no case, such as logins, stay). Break-glass reasons are joined in
    unless `reasons` is false (a reason may tell of the case: not for an admin's eyes)."""
    q = select(AuditEvent).order_by(AuditEvent.id)
    if start is not None:
        q = q.where(AuditEvent.at >= start)
    if end is not None:
        q = q.where(AuditEvent.at < end)
    if staff_id is not None:
        q = q.where(AuditEvent.actor_id == staff_id)
    rows = list((await s.scalars(q)).all())
    where = await _profiles_and_cases(s, rows)
    logins = {c.id: c.login for c in (await s.scalars(select(Counsellor))).all()}
    glass_ids = [int(r.detail["break_glass_id"]) for r in rows if isinstance(r.detail.get("break_glass_id"), int)]
    found = {g.id: g.reason for g in (await s.scalars(select(BreakGlass).where(BreakGlass.id.in_(glass_ids)))).all()} \
        if glass_ids and reasons else {}
    wanted = set(profiles) if profiles is not None else None
    out = []
    for r in rows:
        pid, cid = where.get((r.target_type, r.target_id), (None, None))
        if pid is None and isinstance(r.detail.get("case_id"), int):
            pid, cid = where.get(("case", str(r.detail["case_id"])), (None, None))
        if pid is None and isinstance(r.detail.get("profile_id"), str):
            pid = r.detail["profile_id"]
        if case_id is not None and cid != case_id:
            continue
        if wanted is not None and pid is not None and pid not in wanted:
            continue
        if wanted is not None and pid is None and r.detail.get("profiles") and not wanted & set(r.detail["profiles"]):
            continue
        out.append({
            "id": r.id, "at": r.at.isoformat(), "actor_type": r.actor_type, "actor_id": r.actor_id,
            "actor_login": logins.get(r.actor_id) if r.actor_id else None, "action": r.action,
            "target_type": r.target_type, "target_id": r.target_id, "profile_id": pid, "case_id": cid,
            "detail": r.detail, "reason": found.get(r.detail.get("break_glass_id")),  # type: ignore[arg-type]
        })
    return out[-limit:] if limit else out


def cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: free text starting with = + - @ is quoted."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return "" if value is None else value


def to_csv(rows: list[dict[str, Any]]) -> str:
    import json

    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(EXPORT_COLUMNS)
    for r in rows:
        w.writerow([json.dumps(r[k], ensure_ascii=False, sort_keys=True) if k == "detail" else cell(r[k])
                    for k in EXPORT_COLUMNS])
    return buf.getvalue()
