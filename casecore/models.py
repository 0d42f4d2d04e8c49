"""The case core's tables. Personal fields use EncryptedText; see DESIGN.md."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from casecore.types import EncryptedJSON, EncryptedText, UTCDateTime, utcnow

# BigInteger ids on PostgreSQL, but SQLite only autoincrements INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON, datetime: UTCDateTime()}


class Counsellor(Base):
    __tablename__ = "counsellor"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))  # counsellor, lead, admin
    totp_secret: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    # Municipality profiles this counsellor may see (access limited per person, 000 別紙11);
    # empty: nothing at all (issue 11: an account made without a profile sees no case).
    profiles: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # false: disabled (a leaver)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # -- need-to-know and MFA (issue 11) --
    team: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # The secret being enrolled (shown as a QR code) until a first code confirms it.
    totp_pending: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # replay guard
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(nullable=True)


class StaffSession(Base):
    __tablename__ = "staff_session"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellor.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    counsellor: Mapped[Counsellor] = relationship(lazy="joined")
    # issue 11: "mfa" until the second factor is enrolled (only enrolment is allowed), then
    # "full"; last_seen_at drives the idle timeout.
    stage: Mapped[str] = mapped_column(String(8), default="full")
    last_seen_at: Mapped[datetime | None] = mapped_column(nullable=True)


class ContactPoint(Base):
    """How to reach one resident on one channel of one municipality."""

    __tablename__ = "contact_point"
    __table_args__ = (UniqueConstraint("profile_id", "channel", "external_id_index"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    profile_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    # A mail address is personal data, so the id is stored encrypted and found by blind index.
    external_id: Mapped[str] = mapped_column(EncryptedText)
    external_id_index: Mapped[str] = mapped_column(String(64))
    # The resident's data key in the key store (casecore.keys): every personal column of this
    # resident is sealed under it; erasure destroys it (crypto-shredding).
    data_key_id: Mapped[str | None] = mapped_column(String(24), nullable=True, index=True)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    language_source: Mapped[str | None] = mapped_column(String(16), nullable=True)
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    unfollowed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The post-session survey in progress on a chat channel: {"conversation_id", "step",
    # "answers" (coded yes/partly/no only), "until"}; cleared when it ends. Kept on the
    # contact (already loaded for every event) so a resident's message costs no extra query.
    survey_state: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Conversation(Base):
    __tablename__ = "conversation"
    __table_args__ = (
        Index("ix_conversation_status_waiting", "status", "waiting_since"),
        Index("ix_conversation_contact_point", "contact_point_id", "status"),  # 0007: every inbound event
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_point_id: Mapped[int] = mapped_column(ForeignKey("contact_point.id"))
    profile_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="bot")  # bot waiting counsellor closed
    owner_counsellor_id: Mapped[int | None] = mapped_column(ForeignKey("counsellor.id"), nullable=True)
    dialog_node: Mapped[str] = mapped_column(String(64), default="")
    dialog_state: Mapped[Any] = mapped_column(EncryptedJSON, nullable=True)
    language: Mapped[str] = mapped_column(String(16), default="ja")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Kinds of danger screened or answered (codes, no text): the queue and the monthly report.
    urgency_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    look_reasons: Mapped[list[str]] = mapped_column(JSON, default=list)  # a counsellor looks soon
    # Ever urgent, flagged or claimed: a crisis record, never purged as "unconsented".
    ever_claimed: Mapped[bool] = mapped_column(Boolean, default=False)
    consented_use: Mapped[bool] = mapped_column(Boolean, default=False)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), nullable=True)
    # web chat sessions authenticate with a bearer token; only its hash is kept
    access_token_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, unique=True)
    waiting_since: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    last_inbound_at: Mapped[datetime | None] = mapped_column(nullable=True)
    contact_point: Mapped[ContactPoint] = relationship(lazy="joined")


class Message(Base):
    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("channel", "channel_event_id", name="uq_message_channel_event"),
        Index("ix_message_conversation", "conversation_id", "id"),
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversation.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(4))  # in, out
    sender: Mapped[str] = mapped_column(String(16))  # resident, bot, counsellor, system
    counsellor_id: Mapped[int | None] = mapped_column(ForeignKey("counsellor.id"), nullable=True)
    channel: Mapped[str] = mapped_column(String(16))
    channel_event_id: Mapped[str | None] = mapped_column(String(512), nullable=True)
    kind: Mapped[str] = mapped_column(String(16), default="text")
    text: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    translation: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    translation_language: Mapped[str | None] = mapped_column(String(16), nullable=True)
    translation_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    translation_confidence: Mapped[float | None] = mapped_column(nullable=True)
    choice_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    choices: Mapped[Any] = mapped_column(JSON, nullable=True)  # [{id, label}], labels only
    multi: Mapped[bool] = mapped_column(Boolean, default=False)
    media_type: Mapped[str | None] = mapped_column(String(16), nullable=True)
    delivery_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Case(Base):
    __tablename__ = "case"
    __table_args__ = (Index("ix_case_contact_point", "contact_point_id"),)  # 0007
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    profile_id: Mapped[str] = mapped_column(String(64))
    contact_point_id: Mapped[int] = mapped_column(ForeignKey("contact_point.id"))
    status: Mapped[str] = mapped_column(String(16), default="new")
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # Coded personal fields are encrypted too (issue 17): they say a lot about a person, and
    # nothing filters on them in SQL; the monthly report counts them after decrypting in memory.
    urgency_reasons: Mapped[list[str]] = mapped_column(EncryptedJSON, default=list)
    language: Mapped[str] = mapped_column(String(16), default="ja")
    channel: Mapped[str] = mapped_column(String(16))
    for_whom: Mapped[str | None] = mapped_column(String(16), nullable=True)
    categories: Mapped[list[str]] = mapped_column(EncryptedJSON, default=list)
    problem_text: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    problem_text_ja: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    age_band: Mapped[str | None] = mapped_column(String(16), nullable=True)
    district: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    household: Mapped[str | None] = mapped_column(String(32), nullable=True)
    public_assistance: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    residence: Mapped[str | None] = mapped_column(String(16), nullable=True)
    contact_method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    contact_time: Mapped[str | None] = mapped_column(String(16), nullable=True)
    contact_detail: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    name: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    share_consent: Mapped[str | None] = mapped_column(String(16), nullable=True)
    recommended_programmes: Mapped[list[str]] = mapped_column(JSON, default=list)
    accepted_programmes: Mapped[list[str] | None] = mapped_column(JSON, nullable=True)
    # A lead's legal hold: retention never erases the case while it is set.
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # issue 11: who works on the case (a lead assigns), and the team that shares it
    assigned_counsellor_id: Mapped[int | None] = mapped_column(ForeignKey("counsellor.id"), nullable=True)
    team: Mapped[str | None] = mapped_column(String(32), nullable=True)


class CaseStatusChange(Base):
    __tablename__ = "case_status_change"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    counsellor_id: Mapped[int | None] = mapped_column(ForeignKey("counsellor.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseNote(Base):
    """A counsellor's private note: never shown to the resident."""

    __tablename__ = "case_note"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellor.id"))
    text: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConsentRecord(Base):
    """Append-only ledger: a withdrawal is a new row, never an update."""

    __tablename__ = "consent_record"
    __table_args__ = (
        Index("ix_consent_record_conversation", "conversation_id"),  # 0007: consent at case creation
        Index("ix_consent_record_contact_point", "contact_point_id", "id"),  # 0015: read on every event
    )
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    contact_point_id: Mapped[int] = mapped_column(ForeignKey("contact_point.id"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversation.id", ondelete="SET NULL"), nullable=True
    )
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), nullable=True, index=True)
    kind: Mapped[str] = mapped_column(String(32))  # use, share_agencies, ...
    decision: Mapped[str] = mapped_column(String(16))  # granted, declined, discuss, withdrawn
    wording_version: Mapped[str] = mapped_column(String(32))
    wording_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("counsellor.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """Who read or changed what. Holds ids and action names, never personal values."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_target", "target_type", "target_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(16))  # counsellor, system, resident
    actor_id: Mapped[int | None] = mapped_column(nullable=True)
    action: Mapped[str] = mapped_column(String(48))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class CaseCounter(Base):
    """Per-year sequence behind human-readable case numbers (2026-000123)."""

    __tablename__ = "case_counter"
    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


# -- hardening (issue 17): blocks that hold across new web chat sessions ----------------------
class WebchatOrigin(Base):
    """Where a web chat session came from, as keyed hashes only: the browser (a signed device
    cookie) and the network (the IP). Lets a lead's block cover the next session too."""

    __tablename__ = "webchat_origin"
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    device_hash: Mapped[str] = mapped_column(String(64))
    network_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ResidentBlock(Base):
    """A lead's block of a browser or network for a set time (002 §6(1)⑥)."""

    __tablename__ = "resident_block"
    __table_args__ = (Index("ix_resident_block_value", "kind", "value_hash"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # device, network
    value_hash: Mapped[str] = mapped_column(String(64))
    until: Mapped[datetime]
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversation.id", ondelete="SET NULL"), nullable=True)
    counsellor_id: Mapped[int | None] = mapped_column(ForeignKey("counsellor.id"), nullable=True)
    reason: Mapped[str] = mapped_column(String(16), default="rules")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- consent and data lifecycle (issue 12) ---------------------------------------------------
class IncidentRecord(Base):
    """A suspected breach: what, when found, which data and residents, measures; its timeline
    (JSON list of {at, by, entry}) is exportable. Free text is encrypted (global key: it is
    the centre's record, not one resident's)."""

    __tablename__ = "incident_record"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    profile_id: Mapped[str] = mapped_column(String(64), index=True)
    summary: Mapped[str] = mapped_column(EncryptedText)
    data_kinds: Mapped[list[str]] = mapped_column(JSON, default=list)
    resident_count: Mapped[int] = mapped_column(Integer, default=0)
    case_numbers: Mapped[list[str]] = mapped_column(EncryptedJSON, default=list)
    measures: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    timeline: Mapped[list[Any]] = mapped_column(EncryptedJSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, contained, closed
    occurred_at: Mapped[datetime | None] = mapped_column(nullable=True)
    found_at: Mapped[datetime] = mapped_column(default=utcnow)
    notified_at: Mapped[datetime | None] = mapped_column(nullable=True)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("counsellor.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- need-to-know access and MFA (issue 11) ---------------------------------------------------
class ConversationHolder(Base):
    """Every counsellor who held a conversation (claim or transfer): they keep reading it and
    its case after it moved on."""

    __tablename__ = "conversation_holder"
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellor.id"), primary_key=True, autoincrement=False)
    first_at: Mapped[datetime] = mapped_column(default=utcnow)


class BreakGlass(Base):
    """A read outside need-to-know, with the reason given: audited and shown to the lead."""

    __tablename__ = "break_glass"
    __table_args__ = (Index("ix_break_glass_who", "counsellor_id", "case_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellor.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), nullable=True)
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("conversation.id", ondelete="CASCADE"), nullable=True)
    profile_id: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(EncryptedText)  # free text: may name the resident
    at: Mapped[datetime] = mapped_column(default=utcnow)
    until: Mapped[datetime]


class MfaRecoveryCode(Base):
    """One-time recovery codes, keyed hashes only (the codes are shown once, at enrolment)."""

    __tablename__ = "mfa_recovery_code"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    counsellor_id: Mapped[int] = mapped_column(ForeignKey("counsellor.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)


from casecore.casework import models as _casework_models  # noqa: E402,F401  (their tables on Base.metadata)
