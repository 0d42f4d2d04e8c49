"""Tables of the case work (issue 13). Personal content (reasons, what was shared, outcomes,
the assessment and the plan) is EncryptedText / EncryptedJSON, each row tied to its case by a
foreign key so per-resident keys can be wired to the case later. Codes (outcome, agency, kind)
stay in clear: the monthly report counts them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from casecore.models import Base, Id
from casecore.types import EncryptedJSON, EncryptedText, utcnow

TRIAGE_OUTCOMES = ("centre_support", "information", "referral", "welfare_office")
DOCUMENT_KINDS = ("assessment", "plan")
REVIEW_KINDS = ("plan_review", "job_followup")
REFERRAL_ACCEPTANCE = ("pending", "accepted", "declined")


class CaseTriage(Base):
    """A counsellor's 振り分け (別紙1-2 §4(2)); the latest row is the case's outcome."""

    __tablename__ = "casework_triage"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    counsellor_id: Mapped[int | None] = mapped_column(ForeignKey("counsellor.id"), nullable=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class Referral(Base):
    """つなぎ to another agency: only with the sharing consent (the ledger row it relied on is
    kept), what was shared, when, whether the agency took the case on and what came of it."""

    __tablename__ = "casework_referral"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    agency: Mapped[str] = mapped_column(String(64))
    consent_record_id: Mapped[int] = mapped_column(ForeignKey("consent_record.id"))
    shared: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)  # {"items": [...], "note": "..."}
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
    made_by: Mapped[int | None] = mapped_column(ForeignKey("counsellor.id"), nullable=True)
    acceptance: Mapped[str] = mapped_column(String(16), default="pending")
    accepted_at: Mapped[datetime | None] = mapped_column(nullable=True)
    outcome: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    outcome_at: Mapped[datetime | None] = mapped_column(nullable=True)


class CaseDocument(Base):
    """One version of an assessment sheet or a support plan. A save is a new version; the
    支援調整会議 approval is recorded on the plan version it approved."""

    __tablename__ = "casework_document"
    __table_args__ = (UniqueConstraint("case_id", "kind", "version", name="uq_casework_document_version"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    template_id: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[str] = mapped_column(String(32))
    content: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    counsellor_id: Mapped[int | None] = mapped_column(ForeignKey("counsellor.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_on: Mapped[date | None] = mapped_column(Date, nullable=True)  # the meeting's date
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("counsellor.id"), nullable=True)
    approval_note: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)


class CaseReview(Base):
    """A review or follow-up due on a day: plan reviews at 3/6/12 months, follow-ups after a
    job placement at 1/3/6/12 months (別紙1-2 §4(7)); a reminder on the day, overdue after."""

    __tablename__ = "casework_review"
    __table_args__ = (Index("ix_casework_review_due", "done_at", "due_on"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    months: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
    done_at: Mapped[datetime | None] = mapped_column(nullable=True)
    done_by: Mapped[int | None] = mapped_column(ForeignKey("counsellor.id"), nullable=True)
    note: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseSearchKey(Base):
    """Blind-index keys a case is found by (name, phone): keyed hashes, never the value."""

    __tablename__ = "casework_search_key"
    __table_args__ = (Index("ix_casework_search_key", "kind", "digest"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # name, phone
    digest: Mapped[str] = mapped_column(String(64))
