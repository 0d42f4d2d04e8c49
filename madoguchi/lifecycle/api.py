"""The lead's lifecycle routes: a resident's disclosure (PDF or JSON) and erasure, a withdrawal
given by phone or in person, legal hold, and incidents. Handlers parse, check access, call an
action (or, for the read-only disclosure, read and audit), and answer."""

from __future__ import annotations

import hashlib
import json
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field

from casecore import access, audit
from casecore.db import transaction
from casecore.disclosure import resident_record
from casecore.models import Case, IncidentRecord
from handoff.actions import erasure, incidents, withdrawal
from handoff.api.deps import Ctx, Lead, Me
from i18n.catalog import catalog
from madoguchi.lifecycle.pdf import record_pdf

router = APIRouter(prefix="/api/lifecycle", tags=["lifecycle"])
Requester = Literal["resident", "representative", "municipality", "centre"]


async def _case(ctx: Any, me: Any, case_id: int) -> Case:
    async with transaction(ctx.sessions) as s:
        case = await s.get(Case, case_id)
    if case is None or not access.can_see(me, case.profile_id):
        raise HTTPException(404, "no such case")
    return case


@router.get("/cases/{case_id}/disclosure")
async def disclosure(case_id: int, ctx: Ctx, me: Lead, requested_by: Requester = Query(...),
                     format: Literal["json", "pdf"] = "json") -> Response:
    """Everything held about the resident behind this case (開示請求), audited with who asked."""
    case = await _case(ctx, me, case_id)
    async with transaction(ctx.sessions) as s:
        record = await resident_record(s, case.contact_point_id)
        await audit.record(s, action="disclosure_exported", target_type="case", target_id=case_id,
                           actor_type="counsellor", actor_id=me.id,
                           detail={"requested_by": requested_by, "format": format, "cases": len(record["cases"])})
    name = f"disclosure-{case.number}"
    if format == "pdf":
        body = record_pdf(record, title=f"保有個人データの開示（受付番号 {case.number}）")
        return Response(body, media_type="application/pdf",
                        headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'})
    return Response(json.dumps(record, ensure_ascii=False, indent=1), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{name}.json"'})


class ErasureRequest(BaseModel):
    requested_by: Requester
    reason: Literal["erasure_request", "consent_withdrawn", "other"]


@router.post("/cases/{case_id}/erasure")
async def erase(case_id: int, body: ErasureRequest, ctx: Ctx, me: Lead) -> dict[str, object]:
    await _case(ctx, me, case_id)
    return await erasure.erase_case_resident(ctx, case_id, me, requested_by=body.requested_by, reason=body.reason)


class StaffWithdrawal(BaseModel):
    kind: Literal["use", "share_agencies"]
    channel: Literal["phone", "in_person", "letter"]


@router.post("/cases/{case_id}/withdrawal", status_code=201)
async def withdraw(case_id: int, body: StaffWithdrawal, ctx: Ctx, me: Me) -> dict[str, object]:
    """A withdrawal the resident gave by phone, letter or in person, recorded by a counsellor;
    the wording is the one the resident would have seen in their language."""
    case = await _case(ctx, me, case_id)
    cat = catalog(case.language, "consent")
    version = str(cat.data.get("version") or "0")
    text = cat.text("ask") + "\n" + cat.label("withdraw_use" if body.kind == "use" else "withdraw_share")
    digest = hashlib.sha256(f"withdraw|{body.kind}|{cat.language}|{version}|{text}".encode()).hexdigest()
    rec_id = await withdrawal.record_by_staff(ctx, case_id, me, kind=body.kind, channel=body.channel,
                                              wording_version=version, wording_hash=digest, language=cat.language)
    return {"consent_record_id": rec_id}


class Hold(BaseModel):
    hold: bool


@router.post("/cases/{case_id}/legal-hold", status_code=204)
async def legal_hold(case_id: int, body: Hold, ctx: Ctx, me: Lead) -> Response:
    await _case(ctx, me, case_id)
    await erasure.set_legal_hold(ctx, case_id, me, body.hold)
    return Response(status_code=204)


class NewIncident(BaseModel):
    profile_id: str
    summary: str = Field(min_length=1, max_length=4000)
    data_kinds: list[str] = Field(default_factory=list, max_length=20)
    case_numbers: list[str] = Field(default_factory=list, max_length=10000)
    measures: str | None = Field(None, max_length=4000)
    occurred_at: AwareDatetime | None = None  # with a zone: a naive time would be ambiguous
    found_at: AwareDatetime | None = None


def _notifier(ctx: Any, profile_id: str) -> incidents.Notify | None:
    """Mail the municipality's incident contacts (the profile's `incident_contacts`)."""
    settings = ctx.settings
    recipients = ctx.profiles.get(profile_id).incident_contacts
    if not recipients or not settings.smtp_host or not settings.smtp_from:
        return None

    async def notify(data: dict[str, Any]) -> bool:
        import aiosmtplib

        msg = EmailMessage()
        msg["Subject"] = f"【個人情報の漏えい等のおそれ】事案 {data['id']} のご報告"
        msg["From"], msg["To"] = settings.smtp_from, ", ".join(recipients)
        msg["Date"], msg["Message-ID"] = formatdate(), make_msgid(domain=settings.smtp_from.rsplit("@", 1)[-1])
        msg.set_content(
            f"ご担当者様\n\n個人情報の漏えい等のおそれがある事案を記録しましたので、ご報告します。\n\n"
            f"事案番号: {data['id']}\n発覚日時: {data['found_at']}\n発生日時: {data['occurred_at'] or '調査中'}\n"
            f"概要: {data['summary']}\n対象となる情報: {'、'.join(data['data_kinds']) or '調査中'}\n"
            f"対象となる方の人数: {data['resident_count']}\n講じた措置: {data['measures'] or '調査中'}\n\n"
            "対象となる方の一覧と経過は、事案の記録（madoguchi の出力）として別途安全な方法でお渡しします。\n")
        try:
            await aiosmtplib.send(msg, hostname=settings.smtp_host, port=settings.smtp_port,
                                  username=settings.smtp_user,
                                  password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
                                  start_tls=settings.smtp_starttls if settings.smtp_port != 465 else False,
                                  use_tls=settings.smtp_port == 465, timeout=60)
            return True
        except (aiosmtplib.SMTPException, OSError):
            return False

    return notify


@router.post("/incidents", status_code=201)
async def new_incident(body: NewIncident, ctx: Ctx, me: Lead) -> dict[str, object]:
    if body.profile_id not in ctx.profiles or not access.can_see(me, body.profile_id):
        raise HTTPException(404, "no such profile")
    incident_id = await incidents.record(
        ctx, me, profile_id=body.profile_id, summary=body.summary, data_kinds=body.data_kinds,
        case_numbers=body.case_numbers, measures=body.measures, occurred_at=body.occurred_at,
        found_at=body.found_at, notify=_notifier(ctx, body.profile_id))
    return {"id": incident_id}


class TimelineEntry(BaseModel):
    entry: str = Field(min_length=1, max_length=4000)
    status: Literal["open", "contained", "closed"] | None = None


async def _incident(ctx: Any, me: Any, incident_id: int) -> IncidentRecord:
    async with transaction(ctx.sessions) as s:
        rec = await s.get(IncidentRecord, incident_id)
    if rec is None or not access.can_see(me, rec.profile_id):
        raise HTTPException(404, "no such incident")
    return rec


@router.post("/incidents/{incident_id}/timeline", status_code=204)
async def incident_timeline(incident_id: int, body: TimelineEntry, ctx: Ctx, me: Lead) -> Response:
    await _incident(ctx, me, incident_id)
    await incidents.add_to_timeline(ctx, incident_id, me, body.entry, body.status)
    return Response(status_code=204)


@router.get("/incidents/{incident_id}")
async def incident_export(incident_id: int, ctx: Ctx, me: Lead) -> Response:
    """The record and its timeline, as JSON to hand over; the read is audited."""
    rec = await _incident(ctx, me, incident_id)
    async with transaction(ctx.sessions) as s:
        await audit.record(s, action="incident_exported", target_type="incident", target_id=incident_id,
                           actor_type="counsellor", actor_id=me.id)
    return Response(json.dumps(incidents.view(rec), ensure_ascii=False, indent=1), media_type="application/json",
                    headers={"Content-Disposition": f'attachment; filename="incident-{incident_id}.json"'})
