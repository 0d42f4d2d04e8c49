"""Case core write helpers. Each takes the caller's session, so one action (handoff.actions)
is one transaction; only handoff.actions imports this module (an import-linter contract)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, and_, bindparam, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from casecore import audit, crypto, keys
from casecore.casework.search import index_case
from casecore.lifecycle import CONVERSATION
from casecore.models import Case, ConsentRecord, ContactPoint, Conversation, Message
from casecore.types import utcnow

# The per-event look-ups are built once with bound parameters: each call used to build the
# statement again and compute its cache key (a built statement memoises it), a measurable
# share of an event's CPU (issue 19). The SQL and the rows it finds are the same.
_CONTACT = select(ContactPoint).where(
    ContactPoint.profile_id == bindparam("profile_id"),
    ContactPoint.channel == bindparam("channel"),
    ContactPoint.external_id_index == bindparam("index"),
)
_CONTACT_AGAIN = _CONTACT.execution_options(populate_existing=True)
# The contact point is in the session already: no join to load (and decrypt) it again.
_OPEN_CONVERSATION = (
    select(Conversation)
    .options(lazyload(Conversation.contact_point))
    .where(Conversation.contact_point_id == bindparam("contact_point_id"), Conversation.status != "closed")
    .order_by(Conversation.id.desc())
    .limit(1)
)
# On the table's columns: no ORM compile step for a one-column look-up run on every event.
_EVENT_SEEN = select(Message.__table__.c.id).where(
    Message.__table__.c.channel == bindparam("channel"), Message.__table__.c.channel_event_id == bindparam("event_id")
)
# What every inbound event reads first, as one statement (it was three: issue 19): the contact
# point, its latest open conversation, and whether this event is stored already. An event can
# be stored only in a conversation of its contact point, so no contact point means not seen.
_RESIDENT = (
    select(ContactPoint, Conversation, _EVENT_SEEN.limit(1).scalar_subquery().label("seen"))
    .outerjoin(Conversation, and_(Conversation.contact_point_id == ContactPoint.id, Conversation.status != "closed"))
    .options(lazyload(Conversation.contact_point))  # it is the row's own contact point
    .where(
        ContactPoint.profile_id == bindparam("profile_id"),
        ContactPoint.channel == bindparam("channel"),
        ContactPoint.external_id_index == bindparam("index"),
    )
    .order_by(Conversation.id.desc())
    .limit(1)
)


def _contact_insert():  # type: ignore[no-untyped-def]
    """INSERT … ON CONFLICT DO NOTHING RETURNING the row, as ORM objects. Written as text
    because SQLAlchemy never caches its dialect inserts (`inherit_cache = False` on the
    on-conflict forms): that statement was compiled again on every first message, about 7 %
    of an event's CPU (issue 19). The SQL is the same on PostgreSQL and SQLite ≥ 3.35; the
    binds carry the columns' types, so the external id is still sealed by its type."""
    table = ContactPoint.__table__
    names = ("profile_id", "channel", "external_id", "external_id_index", "data_key_id", "blocked", "created_at")
    sql = text(
        f"INSERT INTO contact_point ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)}) "
        "ON CONFLICT (profile_id, channel, external_id_index) DO NOTHING "
        f"RETURNING {', '.join(c.name for c in table.c)}"
    ).bindparams(*(bindparam(n, type_=table.c[n].type) for n in names)).columns(*table.c)
    return select(ContactPoint).from_statement(sql)


_CONTACT_INSERT = _contact_insert()
# The per-year case counter, incremented atomically (cacheable text for the same reason).
_NEXT_CASE_NUMBER = text(
    "INSERT INTO case_counter (year, last) VALUES (:year, 1) "
    "ON CONFLICT (year) DO UPDATE SET last = case_counter.last + 1 RETURNING last"
).bindparams(bindparam("year", type_=Integer())).columns(last=Integer())


async def contact_point(
    session: AsyncSession, profile_id: str, channel: str, external_id: str
) -> ContactPoint:
    """Find or create the contact point; race-safe (two first messages at once make one row)."""
    return (await find_or_create_contact(session, profile_id, channel, external_id))[0]


async def find_or_create_contact(
    session: AsyncSession, profile_id: str, channel: str, external_id: str
) -> tuple[ContactPoint, bool]:
    """The contact point, and whether this call created it (then the resident has no
    conversation and no consent yet: the inbound step skips those look-ups)."""
    index = crypto.cipher().blind_index(f"{channel}:{external_id}")
    found = await session.scalar(_CONTACT, {"profile_id": profile_id, "channel": channel, "index": index})
    if found is not None:
        return found, False
    return await create_contact(session, profile_id, channel, external_id, index)


@dataclass(frozen=True)
class Resident:
    """What `resident_of` found: the contact point (None: a first message), its latest open
    conversation, and whether the event is stored already (a redelivery)."""

    contact: ContactPoint | None
    conversation: Conversation | None
    seen: bool
    index: str  # the contact point's blind index (create_contact needs it when there is none)


async def resident_of(session: AsyncSession, profile_id: str, channel: str, external_id: str,
                      channel_event_id: str) -> Resident:
    """The inbound step's first read, in one statement (see _RESIDENT)."""
    index = crypto.cipher().blind_index(f"{channel}:{external_id}")
    row = (await session.execute(_RESIDENT, {"profile_id": profile_id, "channel": channel, "index": index,
                                             "event_id": channel_event_id})).first()
    if row is None:
        return Resident(None, None, False, index)
    return Resident(row[0], row[1], row[2] is not None, index)


async def create_contact(session: AsyncSession, profile_id: str, channel: str, external_id: str,
                         index: str) -> tuple[ContactPoint, bool]:
    """A first message's contact point (`resident_of` found none; `index` is its blind index);
    race-safe: (the row, whether this call made it: False when a racing first message did)."""
    where = {"profile_id": profile_id, "channel": channel, "index": index}
    ring = keys.ring()
    kid = ring.create(profile_id) if ring is not None else None  # this resident's own data key
    values = {
        "profile_id": profile_id,
        "channel": channel,
        "external_id": external_id if kid is None else keys.tag(external_id, kid),  # the type seals it
        "data_key_id": kid,
        "external_id_index": index,
        "blocked": False,
        "created_at": utcnow(),
    }
    # The new row comes back as an object (RETURNING), so a first message costs no second
    # SELECT; nothing comes back when a racing first message made it, then it is read.
    created = (await session.scalars(_CONTACT_INSERT, values)).one_or_none()
    if created is not None:
        return created, True
    made = (await session.scalars(_CONTACT_AGAIN, where)).one()
    if ring is not None and kid is not None and made.data_key_id != kid:
        ring.destroy([kid])  # another first message made the row: this key sealed nothing
    return made, False


async def open_conversation(session: AsyncSession, contact: ContactPoint) -> Conversation | None:
    return await session.scalar(_OPEN_CONVERSATION, {"contact_point_id": contact.id})


async def new_conversation(session: AsyncSession, contact: ContactPoint, language: str | None) -> Conversation:
    conv = Conversation(
        contact_point_id=contact.id,
        profile_id=contact.profile_id,
        channel=contact.channel,
        status="bot",
        language=language or contact.language or "ja",
        dialog_state=None,
    )
    session.add(conv)
    await session.flush()
    return conv




async def next_case_number(session: AsyncSession, year: int) -> str:
    """Per-year sequence, atomic on PostgreSQL and SQLite: 2026-000123."""
    last = (await session.execute(_NEXT_CASE_NUMBER, {"year": year})).scalar_one()
    return f"{year}-{last:06d}"


def case_fields_from_answers(answers: dict[str, Any]) -> dict[str, Any]:
    """Only the items the intake may collect (seed 001: purpose-bound, from the person)."""
    return {
        "for_whom": answers.get("for_whom"),
        "categories": list(answers.get("categories") or []),
        "problem_text": answers.get("problem_text"),
        "age_band": answers.get("age_band"),
        "district": answers.get("district"),
        "household": answers.get("household"),
        "public_assistance": answers.get("public_assistance"),
        "residence": answers.get("residence"),
        "contact_method": answers.get("contact_method"),
        "contact_time": answers.get("contact_time"),
        "contact_detail": answers.get("contact_detail"),
        "name": answers.get("name"),
        "share_consent": {"yes": "granted", "no": "declined", "discuss": "discuss"}.get(answers.get("share") or ""),
    }


async def create_case(
    session: AsyncSession,
    conv: Conversation,
    *,
    answers: dict[str, Any],
    language: str,
    urgent_reasons: list[str],
    recommended: list[str],
    now: datetime,
) -> Case:
    case = Case(
        number=await next_case_number(session, now.year),
        profile_id=conv.profile_id,
        contact_point_id=conv.contact_point_id,
        status="new",
        urgent=bool(urgent_reasons) or conv.urgent,
        urgency_reasons=list(urgent_reasons),
        language=language,
        channel=conv.channel,
        recommended_programmes=list(recommended),
        **case_fields_from_answers(answers),
    )
    session.add(case)
    await session.flush()
    await index_case(session, case)  # name and phone as blind-index keys (issue 13)
    conv.case_id = case.id
    # Consents given during this conversation belong to the case from now on.
    await session.execute(
        update(ConsentRecord)
        .where(ConsentRecord.conversation_id == conv.id, ConsentRecord.case_id.is_(None))
        .values(case_id=case.id)
    )
    await audit.record(session, action="case_created", target_type="case", target_id=case.id,
                       detail={"conversation_id": conv.id, "channel": conv.channel})
    return case


async def record_consent(
    session: AsyncSession, conv: Conversation, *, kind: str, decision: str, wording_version: str,
    wording_hash: str, language: str, counsellor_id: int | None = None,
) -> ConsentRecord:
    rec = ConsentRecord(
        contact_point_id=conv.contact_point_id,
        conversation_id=conv.id,
        case_id=conv.case_id,
        kind=kind,
        decision=decision,
        wording_version=wording_version,
        wording_hash=wording_hash,
        language=language,
        channel=conv.channel,
        recorded_by=counsellor_id,
    )
    session.add(rec)
    await audit.record(session, action="consent_recorded", target_type="conversation", target_id=conv.id,
                       actor_type="counsellor" if counsellor_id else "resident", actor_id=counsellor_id,
                       detail={"kind": kind, "decision": decision, "version": wording_version})
    return rec


def is_crisis_record(conv: Conversation) -> bool:
    """Ever urgent, flagged for a counsellor to look at, or claimed by one: kept as a record."""
    return bool(conv.urgent or conv.urgency_reasons or conv.look_reasons or conv.ever_claimed)


async def purge_unconsented(session: AsyncSession, conv: Conversation) -> bool:
    """Before consent to use nothing the resident wrote is kept: texts and answers go. The
    message rows stay, emptied, so a redelivered event is still recognised and not answered
    twice; the contact point stays so the channel can still answer them. A crisis record (ever
    urgent or claimed) is never purged. True when something was purged."""
    if conv.consented_use or conv.case_id is not None:
        return False
    if is_crisis_record(conv):
        await audit.record(session, action="unconsented_purge_refused_crisis_record", target_type="conversation",
                           target_id=conv.id)
        return False
    await session.execute(
        update(Message)
        .where(Message.conversation_id == conv.id)
        .values(text=None, translation=None, kind="purged")
    )
    conv.dialog_state = None
    await audit.record(session, action="unconsented_data_purged", target_type="conversation", target_id=conv.id)
    return True


async def purge_stale_unconsented(session: AsyncSession, older_than: timedelta) -> int:
    """Abandoned intakes that never reached consent are emptied and closed after the
    configured days; returns how many."""
    cutoff = utcnow() - older_than
    convs = (
        await session.scalars(
            select(Conversation).where(
                Conversation.consented_use.is_(False),
                Conversation.case_id.is_(None),
                Conversation.urgent.is_(False),
                Conversation.ever_claimed.is_(False),
                Conversation.updated_at < cutoff,
            )
        )
    ).all()
    purged = 0
    for conv in convs:
        if await purge_unconsented(session, conv):
            if CONVERSATION.can(conv.status, "close"):
                conv.status = CONVERSATION.next(conv.status, "close")
            purged += 1
    return purged
