"""Scheduled delivery: once a day, between the 1st and the 9th (Japanese time), last month's
report (PDF and CSV) is mailed to each profile's `report.recipients`. A row per (profile, month)
in `report_delivery` is written in the same step, so a restart never sends twice."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import aiosmtplib
import structlog
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from casecore.db import transaction
from casecore.reporting.models import ReportDelivery
from casecore.reporting.periods import JST, Month
from casecore.types import utcnow
from dialogs.profile import Profile, ProfileRegistry
from madoguchi.reports.build import Report
from madoguchi.reports.run import filename, make_report, renderer
from madoguchi.settings import Settings

log = structlog.get_logger(__name__)
LAST_DAY = 9  # due by the 10th (002 §6(7))


def due_month(now: datetime) -> Month | None:
    """Last month, while it is the 1st to the 9th in Japan; otherwise nothing is due."""
    local = now.astimezone(JST)
    return Month(local.year, local.month).previous() if local.day <= LAST_DAY else None


def compose(report: Report, sender: str, recipients: list[str]) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"【月次報告】{report.municipality} {report.centre} {report.month_label}"
    msg["From"] = sender
    msg["To"] = ", ".join(recipients)
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(
        f"{report.municipality} ご担当者様\n\n{report.centre}の{report.month_label}の月次報告をお送りします。\n"
        f"PDF（グラフ付き）と CSV を添付しています。累計は{report.ytd_label}です。\n"
        f"{report.threshold}件未満の数は「<{report.threshold}」と表示しています。個人情報は含みません。\n\n"
        "このメールは madoguchi から自動で送信しています。\n"
    )
    msg.add_attachment(renderer("pdf")(report), maintype="application", subtype="pdf", filename=filename(report, "pdf"))
    msg.add_attachment(renderer("csv")(report).decode("utf-8"), subtype="csv", charset="utf-8",
                       filename=filename(report, "csv"))
    return msg


async def _send(settings: Settings, msg: EmailMessage) -> None:
    assert settings.smtp_host
    await aiosmtplib.send(
        msg, hostname=settings.smtp_host, port=settings.smtp_port, username=settings.smtp_user,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        start_tls=settings.smtp_starttls if settings.smtp_port != 465 else False, use_tls=settings.smtp_port == 465,
        timeout=60,
    )


async def _already_sent(s: AsyncSession, profile_id: str, month: Month) -> bool:
    return await s.scalar(select(ReportDelivery.id).where(
        ReportDelivery.profile_id == profile_id, ReportDelivery.month == str(month))) is not None


async def send_due(settings: Settings, sessions: async_sessionmaker[AsyncSession], profiles: ProfileRegistry,
                   now: datetime | None = None) -> list[str]:
    """Send every report due now and not sent yet; answers the profiles sent to."""
    month = due_month(now or utcnow())
    if month is None or not settings.smtp_host or not settings.smtp_from:
        return []
    sent: list[str] = []
    for profile in profiles.all():
        if profile.report.recipients and await _send_one(settings, sessions, profile, month):
            sent.append(profile.id)
    return sent


async def _send_one(settings: Settings, sessions: async_sessionmaker[AsyncSession], profile: Profile, month: Month) -> bool:
    async with transaction(sessions) as s:
        if await _already_sent(s, profile.id, month):
            return False
    report = await make_report(sessions, profile, month, threshold=settings.report_threshold)
    msg = await asyncio.to_thread(compose, report, settings.smtp_from or "", profile.report.recipients)
    try:
        # Claim the month first: of two processes only one inserts the row, so only one mails.
        async with transaction(sessions) as s:
            s.add(ReportDelivery(profile_id=profile.id, month=str(month), recipients=len(profile.report.recipients),
                                 status="sending", sent_at=utcnow()))
    except IntegrityError:
        return False
    try:
        await _send(settings, msg)
    except (aiosmtplib.SMTPException, OSError) as exc:
        log.warning("report_mail_failed", profile=profile.id, month=str(month), error=type(exc).__name__)
        async with transaction(sessions) as s:  # free the month so tomorrow's run tries again
            row = await s.scalar(select(ReportDelivery).where(
                ReportDelivery.profile_id == profile.id, ReportDelivery.month == str(month)))
            if row is not None:
                await s.delete(row)
        return False
    async with transaction(sessions) as s:
        row = await s.scalar(select(ReportDelivery).where(
            ReportDelivery.profile_id == profile.id, ReportDelivery.month == str(month)))
        if row is not None:
            row.status, row.sent_at = "sent", utcnow()
    log.info("report_mailed", profile=profile.id, month=str(month), recipients=len(profile.report.recipients))
    return True


async def schedule_loop(settings: Settings, sessions: async_sessionmaker[AsyncSession], profiles: ProfileRegistry,
                        clock: Callable[[], datetime] = utcnow) -> None:
    """The background task started with the app when MADOGUCHI_REPORT_SCHEDULE is on."""
    while True:
        try:
            await send_due(settings, sessions, profiles, clock())
        except Exception:
            log.exception("report_schedule_failed")
        await asyncio.sleep(settings.report_check_seconds)
