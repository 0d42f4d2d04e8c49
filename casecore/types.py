"""Column types: encrypted text and JSON, UTC timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Text
from sqlalchemy.types import TypeDecorator

from casecore import crypto, keys


def _seal(value: Any, plaintext: str) -> str:
    """Under the resident's data key when the value is tagged with one (casecore.residents
    tags every resident-scoped row at flush), else under the global key (v1)."""
    kid = keys.kid_of(value)
    return crypto.cipher().encrypt(plaintext) if kid is None else crypto.cipher().encrypt_for(kid, plaintext)


class EncryptedText(TypeDecorator[str]):
    """Personal free text: AES-GCM on the way in, decrypted on the way out."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else _seal(value, str(value))

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else crypto.cipher().decrypt(value)


class EncryptedJSON(TypeDecorator[Any]):
    """A JSON document that may hold personal data (the dialog's answers)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return _seal(value, json.dumps(value, ensure_ascii=False, separators=(",", ":")))

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(crypto.cipher().decrypt(value))


class EncryptedBytes(TypeDecorator[bytes]):
    """Personal bytes (a resident's photo or document): sealed like EncryptedText, under the
    resident's data key when the row is resident-scoped, so erasure shreds them too. Stored
    as a text token (base64), so backups, key scans and erasure treat it like any other field."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: bytes | None, dialect: Any) -> str | None:
        return None if value is None else crypto.cipher().encrypt_bytes(bytes(value), keys.kid_of(value))

    def process_result_value(self, value: str | None, dialect: Any) -> bytes | None:
        return None if value is None else crypto.cipher().decrypt_bytes(value)


ENCRYPTED_TYPES = (EncryptedText, EncryptedJSON, EncryptedBytes)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use datetime.now(UTC)")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)
