"""Response models of the counsellor API, so /openapi.json shows the shapes. They name the
fields every client relies on and allow more (extra="allow"): a view may grow a field without
a schema change breaking anyone, and nothing a handler returns is dropped."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict


class View(BaseModel):
    model_config = ConfigDict(extra="allow")


class CounsellorView(View):
    id: int
    login: str
    display_name: str
    role: str


class LoggedOut(View):
    status: str


class MessageView(View):
    id: int
    direction: str
    sender: str
    kind: str
    text: str | None
    language: str | None
    translation: str | None
    translation_status: str | None
    delivery_status: str | None
    created_at: str
    media: list[dict[str, Any]] = []  # issue 16: attachments (no bytes): id, kind, status, ...


class QueueView(View):
    waiting: list[dict[str, Any]]
    mine: list[dict[str, Any]]
    held: list[dict[str, Any]]
    now: str
    risk_screen: dict[str, Any]


class CannedView(View):
    key: str
    label: str
    ja: str
    text: str
    language: str


class CannedList(View):
    language: str
    replies: list[CannedView]


class ConsentView(View):
    kind: str
    decision: str
    wording_version: str
    wording_hash: str
    language: str
    channel: str
    at: str
    recorded_by: int | None


class ConversationRead(View):
    conversation: dict[str, Any]
    transcript: list[MessageView]
    consents: list[ConsentView]
    case: dict[str, Any] | None
    canned: list[CannedView]
    translation_available: bool
    needs_translation: bool
    office: dict[str, Any]
    me: CounsellorView


class Ownership(View):
    conversation_id: int
    status: str


class OwnedBy(Ownership):
    owner: CounsellorView


class Sent(View):
    message: MessageView


class Typing(View):
    conversation_id: int
    channel_indicator: bool


class Blocked(View):
    conversation_id: int
    blocked: bool


class CaseOpened(View):
    case_id: int
    case_number: str
    conversation_id: int
    urgent: bool
    urgency_reasons: list[str]
    consented_use: bool


class NoteView(View):
    id: int
    counsellor_id: int
    author: str | None
    text: str
    created_at: str


class NoteAdded(View):
    note: NoteView


class StatusChanged(View):
    case_id: int
    status: str
    allowed_actions: list[str]


class ProgrammesSet(View):
    case_id: int
    accepted_programmes: list[str]


class CaseSummary(View):
    id: int
    number: str
    status: str
    urgent: bool
    urgency_reasons: list[str]
    categories: list[str]
    language: str
    channel: str
    profile_id: str
    share_consent: str | None
    created_at: str
    updated_at: str


class CaseList(View):
    cases: list[CaseSummary]
    total: int


class CaseRead(CaseSummary):
    face_sheet: dict[str, Any]
    recommended_programmes: list[dict[str, Any]]
    accepted_programmes: list[str] | None
    consents: list[ConsentView]
    conversations: list[dict[str, Any]]
    transcript: list[MessageView]
    status_history: list[dict[str, Any]]
    notes: list[dict[str, Any]]


class ConsoleStrings(View):
    language: str
    labels: dict[str, Any]


class Warned(View):
    conversation_id: int
    warned: bool
    message_id: int | None


class Removed(View):
    conversation_id: int
    status: str
    removed: bool
