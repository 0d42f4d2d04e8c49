"""Which resident a row belongs to, so its personal columns are sealed under that resident's
data key (crypto-shredding, casecore.keys).

A table joins by naming the column that leads to its resident:

    resident_scoped(Assessment, case="case_id")              # or conversation=..., contact_point=...

Then, at every flush, each new or changed EncryptedText / EncryptedJSON value of such a row is
tagged with the resident's key id, and the column type seals it as a v2 token. Nothing else
changes: reads need no context (the token names its key). Rows of tables that are not
registered, and writes while no key ring is configured, stay v1 (the global key).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, inspect, select, update
from sqlalchemy.orm import Session

from casecore import keys
from casecore.models import Case, CaseNote, CaseStatusChange, ContactPoint, Conversation, Message
from casecore.types import ENCRYPTED_TYPES

# model -> (parent kind, column): parent kind is "contact_point", "conversation" or "case"
_SCOPED: dict[type, tuple[str, str]] = {}
_ENCRYPTED: dict[type, list[str]] = {}


def resident_scoped(model: type, **via: str) -> None:
    """Register `model`: exactly one of contact_point=, conversation=, case= naming its FK column."""
    (kind, column), = via.items()
    if kind not in ("contact_point", "conversation", "case"):
        raise ValueError(f"unknown parent {kind!r}")
    _SCOPED[model] = (kind, column)


def encrypted_attributes(model: type) -> list[str]:
    found = _ENCRYPTED.get(model)
    if found is None:
        found = [a.key for a in inspect(model).column_attrs
                 if isinstance(a.columns[0].type, ENCRYPTED_TYPES)]
        _ENCRYPTED[model] = found
    return found


def scoped_models() -> dict[type, tuple[str, str]]:
    return dict(_SCOPED)


class _Resolver:
    """Per flush: parent id -> contact point -> data key id, from the session or one query."""

    def __init__(self, session: Session, ring: keys.KeyRing) -> None:
        self.s = session
        self.ring = ring
        self.cp_kid: dict[int, str] = {}

    def _loaded(self, model: type, pk: Any) -> Any:
        return self.s.identity_map.get(self.s.identity_key(model, pk)) if pk is not None else None

    def contact_point_id(self, kind: str, pk: Any) -> int | None:
        if pk is None or kind == "contact_point":
            return pk
        model = Conversation if kind == "conversation" else Case
        obj = self._loaded(model, pk)
        if obj is not None:
            return obj.contact_point_id
        return self.s.execute(select(model.contact_point_id).where(model.id == pk)).scalar()

    def for_contact_point(self, cp_id: int | None) -> str | None:
        if cp_id is None:
            return None
        if cp_id in self.cp_kid:
            return self.cp_kid[cp_id]
        cp = self._loaded(ContactPoint, cp_id)
        if cp is not None:
            kid = self.for_object(cp)
        else:
            kid, profile = self.s.execute(
                select(ContactPoint.data_key_id, ContactPoint.profile_id).where(ContactPoint.id == cp_id)).one()
            if kid is None:  # a resident from before per-resident keys: give them one now
                kid = self.ring.create(profile)
                self.s.execute(update(ContactPoint).where(ContactPoint.id == cp_id).values(data_key_id=kid)
                               .execution_options(synchronize_session=False))
        self.cp_kid[cp_id] = kid
        return kid

    def for_object(self, obj: Any) -> str | None:
        if isinstance(obj, ContactPoint):
            if obj.data_key_id is None:
                obj.data_key_id = self.ring.create(obj.profile_id)
            return obj.data_key_id
        kind, column = _SCOPED[type(obj)]
        pk = getattr(obj, column)
        if pk is None and kind == "contact_point" and getattr(obj, "contact_point", None) is not None:
            return self.for_object(obj.contact_point)
        return self.for_contact_point(self.contact_point_id(kind, pk))


def _changed(obj: Any, attr: str, new: bool) -> bool:
    if new:
        return getattr(obj, attr) is not None
    return bool(inspect(obj).attrs[attr].history.added)


@event.listens_for(Session, "before_flush")
def _tag_resident_values(session: Session, _ctx: Any, _instances: Any) -> None:
    ring = keys.ring()
    if ring is None:
        return
    resolver = _Resolver(session, ring)
    with session.no_autoflush:
        for obj in [*session.new, *session.dirty]:
            if type(obj) not in _SCOPED and not isinstance(obj, ContactPoint):
                continue
            new = obj in session.new
            attrs = [a for a in encrypted_attributes(type(obj)) if _changed(obj, a, new)]
            if not attrs:
                continue
            kid = resolver.for_object(obj)
            if kid is None:
                continue
            for attr in attrs:
                value = getattr(obj, attr)
                if value is not None and keys.kid_of(value) != kid:
                    setattr(obj, attr, keys.tag(value, kid))


resident_scoped(ContactPoint, contact_point="id")
resident_scoped(Conversation, contact_point="contact_point_id")
resident_scoped(Case, contact_point="contact_point_id")
resident_scoped(Message, conversation="conversation_id")
resident_scoped(CaseNote, case="case_id")
resident_scoped(CaseStatusChange, case="case_id")

# Tables of other parts of the case core that hold a resident's words (issues 13 and 14).
from casecore.casework.models import CaseDocument, CaseReview, CaseTriage, Referral  # noqa: E402
from casecore.desk import DeskNote  # noqa: E402

for _model in (CaseTriage, Referral, CaseDocument, CaseReview):
    resident_scoped(_model, case="case_id")
resident_scoped(DeskNote, conversation="conversation_id")

# A resident's pictures and documents (issue 16): the bytes are sealed under their key too.
from casecore.media import ChannelMedia  # noqa: E402

resident_scoped(ChannelMedia, conversation="conversation_id")
