"""The case work page of the console (/console/cases): the case list and search, a case's
routing, triage, referrals, assessment, plan and reviews. Its data come from /api/casework,
which checks login and access; the page itself holds nothing personal."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse

from handoff.api.console import _HEADERS, static_file

STATIC = Path(__file__).resolve().parent.parent / "console"
_FILES = {"cases.js": "text/javascript; charset=utf-8", "cases.css": "text/css; charset=utf-8",
          "cases-reminder.js": "text/javascript; charset=utf-8"}  # the console's link shows today's count

router = APIRouter(include_in_schema=False)


@router.get("/console/cases")
async def cases_page() -> HTMLResponse:
    return HTMLResponse((STATIC / "cases.html").read_text(encoding="utf-8"), headers=_HEADERS)


@router.get("/console/cases/static/{name}")
async def cases_static(name: str) -> FileResponse:
    return static_file(STATIC, name, _FILES)
