"""Tables of the busy-centre console (issue 14): a counsellor's presence and alert settings,
canned replies leads edit, private timeline notes, read markers (unread counts) and the
urgent-wait escalations already raised (so a lead is told once per wait)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from casecore.models import Base, Id
from casecore.types import EncryptedText, utcnow


class DeskPresence(Base):
    """Available / away, the languages a counsellor takes for automatic assignment, and their
    alert settings (sound, notifications) — one row per counsellor, made on first use."""

    __tablename__ = "desk_presence"
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellor.id", ondelete="CASCADE"), primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="away")  # available, away
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty: any language
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeskCannedReply(Base):
    """A canned reply in one language, written by a lead in the console. It overrides (or adds
    to) the `canned` catalog's replies; the Japanese row is the original the transcript keeps."""

    __tablename__ = "desk_canned_reply"
    __table_args__ = (UniqueConstraint("key", "language", name="uq_desk_canned_key_language"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("counsellor.id"), nullable=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeskNote(Base):
    """A private note in a conversation's timeline (never sent to the resident), with or without
    a case. Encrypted at rest like every counsellor-written text."""

    __tablename__ = "desk_note"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), nullable=True)
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellor.id"))
    text: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeskReadMarker(Base):
    """The last message a counsellor has seen in a conversation: the unread count is what came after."""

    __tablename__ = "desk_read_marker"
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellor.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True)
    last_message_id: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeskEscalation(Base):
    """An urgent resident waited past the urgent target: the lead was told (once per wait)."""

    __tablename__ = "desk_escalation"
    __table_args__ = (UniqueConstraint("conversation_id", "waiting_since", name="uq_desk_escalation_wait"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"), index=True)
    waiting_since: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
