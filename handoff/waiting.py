"""Office hours and waiting: a periodic pass over the queue.

- A resident waiting longer than the profile's `waiting_target_minutes` is told, once per
  wait, that they have not been forgotten (and, out of hours, when a counsellor will answer).
- When the desk closes on an urgent conversation that is still waiting, the resident gets the
  emergency and on-call contacts once per closed period; a person with nowhere to sleep
  (`no_shelter`) gets the emergency lodging contact first. (Someone who asks while the desk
  is already closed was told this by the dialog at that moment.)

- Issue 14: an urgent resident waiting past the profile's `urgent_target_minutes` is
  escalated to the leads' consoles once per wait; with `console_auto_assign` on, waiting
  residents are assigned to available counsellors (handoff/waiting_assign.py).

Every app process may run the monitor: each notice carries a key the message table keeps
unique, so it goes out once however many processes race for it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import structlog

from casecore.db import transaction
from casecore.types import utcnow
from handoff import relay, waiting_assign, waiting_list
from handoff.actions import desk, messages
from handoff.context import HandoffContext as AppContext

log = structlog.get_logger(__name__)
DEFAULT_INTERVAL_SECONDS = 30.0


async def waiting_pass(ctx: AppContext, now: datetime | None = None) -> list[int]:
    """One pass; returns the ids of the notices sent."""
    now = now or utcnow()
    async with transaction(ctx.sessions) as s:
        items = await waiting_list.waiting(s, ctx.profiles, now)
    sent: list[int] = []
    if getattr(ctx.settings, "console_auto_assign", False):
        assigned = {cid for cid, _ in await waiting_assign.assign_pass(ctx, items)}
        items = [i for i in items if i["id"] not in assigned]
    for item in items:
        if item["profile_id"] not in ctx.profiles or not item["waiting_since"]:
            continue
        profile = ctx.profiles.get(item["profile_id"])
        hours = profile.office_hours
        since = datetime.fromisoformat(item["waiting_since"])
        cid = item["id"]
        is_open = hours.is_open(now)
        next_open = hours.next_opening(now).astimezone(hours.tz)
        when = next_open.strftime("%m/%d %H:%M")

        if item["urgent"] and item["over_target"]:
            await desk.escalate(ctx, cid, item["profile_id"], since, item["waited_seconds"] or 0)
        if item["over_target"]:
            key = "waiting_reminder" if is_open else "waiting_reminder_out_of_hours"
            mid = await messages.notice(
                ctx, cid, key, relay.canned_notice(key, {"next_open": when}),
                once_key=f"reminder:{cid}:{int(since.timestamp())}",
            )
            sent += [mid] if mid else []

        if item["urgent"] and not is_open and hours.next_opening(since) <= now:
            lang = item["language"]
            contacts = {"next_open": when, "contacts": profile.emergency_text(lang), "lodging": profile.lodging_text(lang)}
            contacts_ja = {"next_open": when, "contacts": profile.emergency_text("ja"), "lodging": profile.lodging_text("ja")}
            key = "out_of_hours_lodging" if "no_shelter" in item["urgency_reasons"] else "out_of_hours_urgent"
            mid = await messages.notice(
                ctx, cid, key, relay.canned_notice(key, contacts, contacts_ja),
                once_key=f"closed:{cid}:{next_open.date().isoformat()}", kind="emergency",
            )
            sent += [mid] if mid else []
    if sent:
        log.info("waiting_notices_sent", count=len(sent))
    return sent


async def _loop(ctx: AppContext, interval: float) -> None:
    while True:
        try:
            await waiting_pass(ctx)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("waiting_pass_failed")
        await asyncio.sleep(interval)


def start_waiting_monitor(ctx: AppContext, interval: float = DEFAULT_INTERVAL_SECONDS) -> asyncio.Task[None]:
    """The periodic task the app's lifespan starts (and cancels on shutdown)."""
    return asyncio.create_task(_loop(ctx, interval), name="waiting-monitor")
