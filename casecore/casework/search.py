"""Finding a case by name or phone without a plaintext column: both are normalised, then kept
only as keyed hashes (casecore.crypto blind_index) in casework_search_key. A name is found by
the whole name or by any one of its parts (family or given name), spaces and width ignored."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import crypto
from casecore.casework.models import CaseSearchKey
from casecore.models import Case

_SPACES = re.compile(r"[\s\u3000・,、]+")


def normalise_phone(value: str | None) -> str | None:
    """Digits only, full-width folded, +81 as a leading 0: 090-1234-5678 == ０９０１２３４５６７８
    == +81 90 1234 5678. None when it is not a phone number (under 9 digits)."""
    if not value:
        return None
    text = unicodedata.normalize("NFKC", value).strip()
    digits = re.sub(r"\D", "", text)
    if text.startswith("+81") or (digits.startswith("81") and len(digits) in (11, 12)):
        digits = "0" + digits[2:]
    return digits if len(digits) >= 9 else None


def name_keys(value: str | None) -> list[str]:
    """The whole name (no spaces) and each part: 山田 花子 → 山田花子, 山田, 花子."""
    if not value:
        return []
    text = unicodedata.normalize("NFKC", value).strip().casefold()
    parts = [p for p in _SPACES.split(text) if p]
    keys = ["".join(parts), *parts] if len(parts) > 1 else parts
    return list(dict.fromkeys(k for k in keys if k))


def digest(kind: str, value: str) -> str:
    return crypto.cipher().blind_index(f"casework:{kind}:{value}")


def keys_for(case: Case) -> list[tuple[str, str]]:
    out = [("name", digest("name", k)) for k in name_keys(case.name)]
    phone = normalise_phone(case.contact_detail) if case.contact_method in ("phone", None) else None
    if phone:
        out.append(("phone", digest("phone", phone)))
    return out


async def index_case(session: AsyncSession, case: Case) -> None:
    """(Re)write the case's search keys in the caller's transaction."""
    await session.execute(delete(CaseSearchKey).where(CaseSearchKey.case_id == case.id))
    session.add_all([CaseSearchKey(case_id=case.id, kind=k, digest=d) for k, d in keys_for(case)])


def query_digests(text: str) -> list[tuple[str, str]]:
    """What a counsellor typed, as the keys it could match (a phone, else a name)."""
    phone = normalise_phone(text)
    if phone and not re.search(r"[^\d\s\-+()（）ー－]", unicodedata.normalize("NFKC", text)):
        return [("phone", digest("phone", phone))]
    keys = name_keys(text)
    return [("name", digest("name", keys[0]))] if keys else []


async def matching_case_ids(session: AsyncSession, text: str) -> set[int]:
    wanted = query_digests(text)
    if not wanted:
        return set()
    found: set[int] = set()
    for kind, d in wanted:
        found |= set((await session.scalars(
            select(CaseSearchKey.case_id).where(CaseSearchKey.kind == kind, CaseSearchKey.digest == d))).all())
    return found
