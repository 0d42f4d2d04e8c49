"""LINE events that are no intake message: the bot leaves any group or room it is added to,
and a message the resident unsends leaves the transcript.

A consultation is one-on-one: in a group every member would read the resident's answers (and
the service would store other people's messages). So a join is answered by leaving at once,
and nothing of the group is kept. Called by the webhook for each parsed event.
"""

from __future__ import annotations

from typing import Any

import structlog
from linebot.v3.messaging import AsyncMessagingApi
from linebot.v3.messaging.exceptions import ApiException
from linebot.v3.webhooks import (
    Event,
    GroupSource,
    JoinEvent,
    MemberJoinedEvent,
    RoomSource,
    UnsendEvent,
    UserSource,
)

log = structlog.get_logger(__name__)


def leave_target(event: Event) -> tuple[str, str] | None:
    """("group" | "room", id) when the bot should leave where the event happened."""
    if not isinstance(event, JoinEvent | MemberJoinedEvent):
        return None
    source = getattr(event, "source", None)
    if isinstance(source, GroupSource) and source.group_id:
        return "group", source.group_id
    if isinstance(source, RoomSource) and source.room_id:
        return "room", source.room_id
    return None


async def leave(api: AsyncMessagingApi, where: tuple[str, str]) -> None:
    kind, chat_id = where
    try:
        if kind == "group":
            await api.leave_group(chat_id)
        else:
            await api.leave_room(chat_id)
        log.info("line_left_group_chat", kind=kind)  # never the id: it names people's chat
    except ApiException as exc:  # already gone (404), or LINE is down: nothing else to do
        log.info("line_leave_failed", kind=kind, status=exc.status)


def unsent(event: Event) -> tuple[str, str] | None:
    """(user id, LINE message id) of a one-on-one message the resident unsent."""
    if not isinstance(event, UnsendEvent) or event.unsend is None:
        return None
    source = event.source
    if not isinstance(source, UserSource) or not source.user_id:
        return None
    return source.user_id, event.unsend.message_id


async def withdraw(router: Any, profile_id: str, user_id: str, message_id: str) -> None:
    from handoff.actions.unsend import withdraw as withdraw_message

    # (an unsend can overtake its message in the queue: then there is nothing to remove yet)
    found = await withdraw_message(router, profile_id, "line", user_id, message_id)
    log.info("line_message_unsent", found=found)
