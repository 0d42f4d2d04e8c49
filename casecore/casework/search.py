"""Finding a case by name or phone without a plaintext column: both are normalised, then kept
only as keyed hashes (casecore.crypto blind_index) in casework_search_key. A name is found by
the whole name or by any one of its parts (family or given name), spaces and width ignored; a
Japanese name written without a space (山田花子) also by its first two or three characters,
where the family name usually is. Only whole keys match: no partial search of a digest."""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from casecore import crypto
from casecore.casework.models import CaseSearchKey
from casecore.models import Case

_SPACES = re.compile(r"[\s\u3000・,、]+")
_CJK = re.compile(r"^[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff々〆ヶ]+$")


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
    keys = ["".join(parts), *parts] if len(parts) > 1 else list(parts)
    if len(parts) == 1 and _CJK.match(parts[0]) and len(parts[0]) >= 3:
        keys += [parts[0][:n] for n in (2, 3) if n < len(parts[0])]  # 山田花子 → 山田, 山田花
    return list(dict.fromkeys(k for k in keys if k))


def digest(kind: str, value: str, cipher: crypto.FieldCipher | None = None) -> str:
    return (cipher or crypto.cipher()).blind_index(f"casework:{kind}:{value}")


def keys_of(name: str | None, contact_method: str | None, contact_detail: str | None,
            cipher: crypto.FieldCipher | None = None) -> list[tuple[str, str]]:
    """The (kind, digest) pairs a case is found by; migration 0010 backfills with this too."""
    out = [("name", digest("name", k, cipher)) for k in name_keys(name)]
    phone = normalise_phone(contact_detail) if contact_method in ("phone", None) else None
    if phone:
        out.append(("phone", digest("phone", phone, cipher)))
    return out


def keys_for(case: Case) -> list[tuple[str, str]]:
    return keys_of(case.name, case.contact_method, case.contact_detail)


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


async def reindex_all(session: AsyncSession, batch: int = 500) -> int:
    """Rewrite every case's search keys (after a key rotation: the blind index follows the
    active key). Returns how many cases were read."""
    done, last = 0, 0
    while True:
        cases = (await session.scalars(select(Case).where(Case.id > last).order_by(Case.id).limit(batch))).all()
        if not cases:
            return done
        for case in cases:
            await index_case(session, case)
        await session.flush()
        done, last = done + len(cases), cases[-1].id
