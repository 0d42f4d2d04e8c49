"""A lead's moderation of a resident who breaks the rules (002 §6(1)⑥): warn, then remove,
then block (the block route lives with the conversation routes); the state changes are
actions (handoff.actions.moderation)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam
from pydantic import BaseModel, Field

from handoff.actions import moderation
from handoff.api.deps import Ctx, Me, conversation_in_scope
from handoff.api.views import Removed, Warned

INT64_MAX = 2**63 - 1


class ModerationBody(BaseModel):
    # a code, not free text: it goes to the report and the audit trail in clear
    reason: str = Field(default="rules", pattern=r"^(rules|harassment|spam|threats|other)$")


router = APIRouter(prefix="/api/conversations", tags=["moderation"])


def _lead_only(me: Any) -> None:
    if me.role not in ("lead", "admin"):
        raise HTTPException(403, "only a lead (主任相談支援員) or an admin can warn or remove a resident")


@router.post("/{conversation_id}/warn", response_model=Warned)
async def warn(body: ModerationBody, ctx: Ctx, me: Me,
               conversation_id: int = PathParam(ge=1, le=INT64_MAX)) -> dict[str, Any]:
    """Warn the resident (first step): a message in their language asking them to keep the
    rules, saying the conversation may be ended otherwise."""
    _lead_only(me)
    await conversation_in_scope(conversation_id, ctx, me)
    done = await moderation.warn(ctx, conversation_id, me, body.reason)
    return {"conversation_id": conversation_id, "warned": True, "message_id": done.message_id}


@router.post("/{conversation_id}/remove", response_model=Removed)
async def remove(body: ModerationBody, ctx: Ctx, me: Me,
                 conversation_id: int = PathParam(ge=1, le=INT64_MAX)) -> dict[str, Any]:
    """Remove the resident (second step): they are told why, then the conversation is closed
    (a web chat token stops working at once). They may start again; a block (`POST …/block`)
    keeps them out."""
    _lead_only(me)
    await conversation_in_scope(conversation_id, ctx, me)
    status = await moderation.remove(ctx, conversation_id, me, body.reason)
    return {"conversation_id": conversation_id, "status": status, "removed": True}
