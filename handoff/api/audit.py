"""The audit trail, readable (issue 11): leads see their municipalities' rows, admins all;
JSON for the console page, CSV for the municipality's inspection. Reading it is audited too."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response

from casecore import audit
from casecore.db import transaction
from casecore.models import Counsellor
from handoff.api.deps import Ctx, Inspector
from handoff.api.views import View

router = APIRouter(prefix="/api/audit", tags=["audit"])


async def _rows(ctx: Any, me: Counsellor, start: datetime | None, end: datetime | None, profile: str | None,
                staff_id: int | None, case_id: int | None, limit: int | None) -> list[dict[str, Any]]:
    profiles: list[str] | None = None
    if me.role == "lead":  # a lead inspects their own municipalities only
        profiles = [p for p in (me.profiles or []) if profile in (None, p)]
    elif profile:
        profiles = [profile]
    async with transaction(ctx.sessions) as s:
        # an admin reads no case content, and a break-glass reason may tell of the case
        rows = await audit.events(s, start=start, end=end, profiles=profiles, staff_id=staff_id, case_id=case_id,
                                  limit=limit, reasons=me.role == "lead")
        await audit.record(s, action="read_audit", target_type="audit", target_id="*", actor_type="counsellor",
                           actor_id=me.id, detail={"rows": len(rows), "profile": profile, "staff": staff_id, "case": case_id})
    return rows


@router.get("", response_model=View)
async def audit_trail(ctx: Ctx, me: Inspector, start: datetime | None = Query(default=None, alias="from"),
                      end: datetime | None = Query(default=None, alias="to"),
                      profile: str | None = Query(default=None, max_length=64),
                      staff: int | None = Query(default=None, ge=1, le=2**62),
                      case: int | None = Query(default=None, ge=1, le=2**62),
                      limit: int = Query(default=500, ge=1, le=5000)) -> dict[str, Any]:
    rows = await _rows(ctx, me, start, end, profile, staff, case, limit)
    return {"events": rows[::-1]}


@router.get("/export.csv", response_class=Response)
async def audit_export(ctx: Ctx, me: Inspector, start: datetime | None = Query(default=None, alias="from"),
                       end: datetime | None = Query(default=None, alias="to"),
                       profile: str | None = Query(default=None, max_length=64),
                       staff: int | None = Query(default=None, ge=1, le=2**62),
                       case: int | None = Query(default=None, ge=1, le=2**62)) -> Response:
    rows = await _rows(ctx, me, start, end, profile, staff, case, None)
    return Response(audit.to_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="audit.csv"'})
