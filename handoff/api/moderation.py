"""A lead's moderation of a resident who breaks the rules (002 §6(1)⑥): warn, then remove,
then block (the block route lives with the conversation routes), each audited and counted in
the monthly report. The resident is told each time, in their own language."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, HTTPException
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from casecore import audit
from casecore.db import transaction
from casecore.models import Counsellor
from handoff import relay
from handoff.api.auth import current_counsellor_dep
from handoff.api.conversations import visible_conversation
from handoff.context import HandoffContext as AppContext
from handoff.hub import QUEUE_TOPIC
from handoff.security_texts import security_text

INT64_MAX = 2**63 - 1


class ModerationBody(BaseModel):
    # a code, not free text: it goes to the report and the audit trail in clear
    reason: str = Field(default="rules", pattern=r"^(rules|harassment|spam|threats|other)$")


def security_notice(key: str) -> relay.Render:
    """A notice from the security texts: (the resident's words, their language, Japanese)."""
    def render(language: str) -> tuple[str, str, str]:
        return security_text(key, language), language, security_text(key, "ja")
    return render


def moderation_router(ctx: AppContext) -> APIRouter:
    r = APIRouter(prefix="/api/conversations", tags=["moderation"])
    current = current_counsellor_dep(ctx)

    def lead_only(me: Counsellor) -> None:
        if me.role not in ("lead", "admin"):
            raise HTTPException(403, "only a lead (主任相談支援員) or an admin can warn or remove a resident")

    @r.post("/{conversation_id}/warn")
    async def warn(body: ModerationBody, conversation_id: int = PathParam(ge=1, le=INT64_MAX),
                   me: Counsellor = Depends(current)) -> dict[str, Any]:
        """Warn the resident (first step): a message in their language asking them to keep
        the rules, saying the conversation may be ended otherwise."""
        lead_only(me)
        async with transaction(ctx.sessions) as s:
            conv = await visible_conversation(s, conversation_id, me)
            if conv.status == "closed":
                raise HTTPException(409, "this conversation has ended")
            await audit.record(s, action="resident_warned", target_type="conversation", target_id=conv.id,
                               actor_type="counsellor", actor_id=me.id, detail={"reason": body.reason})
        message_id = await relay.send_notice(ctx, conversation_id, "resident_warned", security_notice("warning"))
        return {"conversation_id": conversation_id, "warned": True, "message_id": message_id}

    @r.post("/{conversation_id}/remove")
    async def remove(body: ModerationBody, conversation_id: int = PathParam(ge=1, le=INT64_MAX),
                     me: Counsellor = Depends(current)) -> dict[str, Any]:
        """Remove the resident (second step): they are told why, then the conversation is
        closed (a web chat token stops working at once). They may start again; a block
        (`POST …/block`) keeps them out."""
        lead_only(me)
        async with transaction(ctx.sessions) as s:
            conv = await visible_conversation(s, conversation_id, me)
            if conv.status == "closed":
                raise HTTPException(409, "this conversation has ended")
        await relay.send_notice(ctx, conversation_id, "resident_removed", security_notice("removed"))
        async with transaction(ctx.sessions) as s:
            conv = await visible_conversation(s, conversation_id, me)
            conv.status, conv.owner_counsellor_id, conv.waiting_since = "closed", None, None
            await audit.record(s, action="resident_removed", target_type="conversation", target_id=conv.id,
                               actor_type="counsellor", actor_id=me.id, detail={"reason": body.reason})
        await relay.publish_status(ctx, conversation_id, "closed")
        await ctx.hub.publish(QUEUE_TOPIC, {"type": "queue_changed", "conversation_id": conversation_id})
        return {"conversation_id": conversation_id, "status": "closed", "removed": True}

    return r
