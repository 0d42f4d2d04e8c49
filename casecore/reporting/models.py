"""Tables of the reporting side: report deliveries (so a restart never resends) and the
anonymous post-session survey (never linked to a resident, a conversation or a case)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from casecore.models import Base, Id
from casecore.types import EncryptedText, utcnow


class ReportDelivery(Base):
    """One monthly report sent to one municipality: the unique key is the guard against resending."""

    __tablename__ = "report_delivery"
    __table_args__ = (UniqueConstraint("profile_id", "month", name="uq_report_delivery_month"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    profile_id: Mapped[str] = mapped_column(String(64))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM, a Japanese month
    recipients: Mapped[int] = mapped_column(default=0)  # how many; the addresses stay in the profile
    status: Mapped[str] = mapped_column(String(16), default="sent")  # sent, failed
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


class SurveyAnswer(Base):
    """One resident's anonymous answers. Only the profile, the Japanese month, the channel and the
    language are kept beside them: nothing that leads back to the person."""

    __tablename__ = "survey_answer"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    profile_id: Mapped[str] = mapped_column(String(64), index=True)
    month: Mapped[str] = mapped_column(String(7), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    language: Mapped[str] = mapped_column(String(16))
    helped: Mapped[str | None] = mapped_column(String(8), nullable=True)  # yes, partly, no
    easy: Mapped[str | None] = mapped_column(String(8), nullable=True)
    again: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # Free comment: may hold anything the resident wrote, so it is encrypted like every text.
    comment: Mapped[str | None] = mapped_column(EncryptedText, nullable=True)
    has_comment: Mapped[bool] = mapped_column(Boolean, default=False)
