"""The lead's dashboard data (issue 15 item 4): today's waiting and urgent conversations, volumes
by hour of day (for staffing), response times, the survey's last six months. Leads and admins
only, scoped to the profiles they may see; every read is audited. Aggregates only: no
conversation, case or resident. The survey's free comments are residents' words: leads only
(an admin reads no resident content), each read audited."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import FileResponse, HTMLResponse
from sqlalchemy import func, select

from casecore import audit
from casecore.access import can_see
from casecore.casework.models import CaseReview
from casecore.db import transaction
from casecore.models import Case, Conversation, Counsellor
from casecore.reporting import figures as F
from casecore.reporting.models import SurveyAnswer
from casecore.reporting.periods import JST, Month
from casecore.types import utcnow
from handoff.api.auth import current_counsellor_dep
from handoff.api.console import _HEADERS, static_file
from handoff.context import HandoffContext as AppContext

DASHBOARD_ROLES = ("lead", "admin")
PAGE = Path(__file__).resolve().parent.parent / "console" / "dashboard"
_FILES = {"dashboard.js": "text/javascript; charset=utf-8", "dashboard.css": "text/css; charset=utf-8"}


def _period(fig: F.Figures) -> dict[str, Any]:
    return {
        "new_consultations": fig.consultations, "urgent": fig.urgent, "look": fig.look, "handoffs": fig.handoffs,
        "unclaimed": fig.unclaimed, "by_hour": [fig.by_hour.get(h, 0) for h in range(24)],
        "waiting_minutes": F.wait_stats(fig), "first_reply_minutes": F.response_stats(fig),
    }


SURVEY_MONTHS = 6
QUESTIONS = ("helped", "easy", "again")


async def _survey_trend(s: Any, profile_id: str, now: datetime) -> dict[str, Any]:
    """Answers per Japanese month for the last six months, oldest first (the trend, 002 §6(4)⑩)."""
    months = [Month.of(now)]
    while len(months) < SURVEY_MONTHS:
        months.insert(0, months[0].previous())
    names = [str(m) for m in months]
    rows = (await s.execute(select(SurveyAnswer.month, SurveyAnswer.helped, SurveyAnswer.easy, SurveyAnswer.again,
                                   SurveyAnswer.has_comment)
                            .where(SurveyAnswer.profile_id == profile_id, SurveyAnswer.month.in_(names)))).all()
    out = {m: {"month": m, "answers": 0, "comments": 0,
               **{q: {"yes": 0, "partly": 0, "no": 0, "no_answer": 0} for q in QUESTIONS}} for m in names}
    for r in rows:
        month = out[r.month]
        month["answers"] += 1
        month["comments"] += bool(r.has_comment)
        for q in QUESTIONS:
            month[q][getattr(r, q) or "no_answer"] += 1
    return {"months": list(out.values())}


async def _overdue_reviews(s: Any, profile_id: str, today: Any) -> int:
    return await s.scalar(select(func.count()).select_from(CaseReview).join(Case, Case.id == CaseReview.case_id)
                          .where(Case.profile_id == profile_id, CaseReview.done_at.is_(None),
                                 CaseReview.due_on < today)) or 0


def reports_router(ctx: AppContext) -> APIRouter:
    r = APIRouter(tags=["reports"])
    current = current_counsellor_dep(ctx)
    pages = APIRouter(include_in_schema=False)

    @pages.get("/console/dashboard")
    async def dashboard_page() -> HTMLResponse:
        """The page only: its figures come from /api/reports/dashboard, which checks the role."""
        return HTMLResponse((PAGE / "dashboard.html").read_text(encoding="utf-8"), headers=_HEADERS)

    @pages.get("/console/dashboard/static/{name}")
    async def dashboard_static(name: str) -> FileResponse:
        return static_file(PAGE, name, _FILES)

    @r.get("/api/reports/dashboard")
    async def dashboard(profile: str | None = Query(default=None, max_length=64),
                        me: Counsellor = Depends(current)) -> dict[str, Any]:
        """Live figures for the lead's dashboard, per profile the lead may see (`profile` picks one)."""
        visible = [p.id for p in ctx.profiles.all() if can_see(me, p.id)]
        refused = me.role not in DASHBOARD_ROLES or (profile is not None and profile not in visible)
        async with transaction(ctx.sessions) as s:
            await audit.record(s, action="dashboard_refused" if refused else "read_dashboard", target_type="report",
                               target_id=profile or "all", actor_type="counsellor", actor_id=me.id)
        if refused:
            raise HTTPException(403, "the dashboard is for leads of this municipality")
        chosen = [profile] if profile else visible
        now = utcnow()
        local = now.astimezone(JST)
        midnight = datetime(local.year, local.month, local.day, tzinfo=JST)
        out: dict[str, Any] = {}
        async with transaction(ctx.sessions) as s:
            for pid in chosen:
                waiting = (await s.execute(
                    select(Conversation.urgent, func.count(), func.min(Conversation.waiting_since))
                    .where(Conversation.profile_id == pid, Conversation.status == "waiting")
                    .group_by(Conversation.urgent))).all()
                oldest = min((w[2] for w in waiting if w[2] is not None), default=None)
                today = await F.compute(s, pid, midnight, now, [])
                month = await F.compute(s, pid, now - timedelta(days=30), now, [])
                prof = ctx.profiles.get(pid)
                out[pid] = {
                    "name": prof.t(prof.municipality, "ja"), "centre": prof.t(prof.centre_name, "ja"),
                    "waiting_now": sum(n for _, n, _ in waiting),
                    "urgent_waiting_now": sum(n for urgent, n, _ in waiting if urgent),
                    "longest_wait_minutes": round((now - oldest).total_seconds() / 60, 1) if oldest else None,
                    "today": _period(today),
                    "last_30_days": _period(month),
                    # Plan reviews and follow-ups past their day and not recorded (issue 13).
                    "open_reviews": {"recorded": True, "count": await _overdue_reviews(s, pid, local.date()),
                                     "note": "reviews and follow-ups past their day"},
                    "survey": await _survey_trend(s, pid, now),
                }
        return {"generated_at": now.isoformat(), "date": local.date().isoformat(), "timezone": "Asia/Tokyo",
                "viewer_role": me.role, "profiles": out}

    @r.get("/api/reports/survey-comments")
    async def survey_comments(profile: str = Query(max_length=64), month: str = Query(pattern=r"^\d{4}-\d{2}$"),
                              me: Counsellor = Depends(current)) -> dict[str, Any]:
        """The survey's free comments of one profile and Japanese month: leads only, audited."""
        try:
            Month.parse(month)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
        refused = me.role != "lead" or profile not in ctx.profiles or not can_see(me, profile)
        async with transaction(ctx.sessions) as s:
            await audit.record(s, action="survey_comments_refused" if refused else "read_survey_comments",
                               target_type="report", target_id=f"{profile}:{month}", actor_type="counsellor",
                               actor_id=me.id)
        if refused:
            raise HTTPException(403, "the survey's comments are for the lead of this municipality")
        async with transaction(ctx.sessions) as s:
            rows = (await s.execute(select(SurveyAnswer.comment, SurveyAnswer.language, SurveyAnswer.channel)
                                    .where(SurveyAnswer.profile_id == profile, SurveyAnswer.month == month,
                                           SurveyAnswer.has_comment.is_(True))
                                    .order_by(SurveyAnswer.id))).all()
        return {"profile": profile, "month": month,
                "comments": [{"text": r.comment, "language": r.language, "channel": r.channel} for r in rows]}

    r.include_router(pages)
    return r
