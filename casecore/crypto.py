"""Field-level encryption of personal data (AES-256-GCM) and blind indexes for lookups.

Ciphertexts look like ``v1.<key id>.<base64url(nonce || ciphertext+tag)>`` so a key can be
rotated: new writes use the active key, reads find the old key by its id.

A resident's own fields are ``v2.<resident key id>.<base64url(...)>``: sealed under that
resident's data key (casecore.keys), which erasure destroys (crypto-shredding). v1 tokens
stay readable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PREFIX = "v1"
_RESIDENT = "v2"


class DecryptionError(Exception):
    """A ciphertext could not be read: wrong key, unknown key id or tampered data."""


def derive_key(secret: str | bytes, purpose: str) -> bytes:
    raw = secret.encode() if isinstance(secret, str) else secret
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=b"madoguchi", info=purpose.encode()
    ).derive(raw)


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()[:8]


@dataclass
class FieldCipher:
    keys: dict[str, bytes]
    active_id: str
    index_key: bytes

    @classmethod
    def from_secrets(cls, active_secret: str, old_secrets: list[str] | None = None) -> FieldCipher:
        """Active key first; older secrets stay readable for rotation."""
        active = derive_key(active_secret, "field-encryption")
        keys = {key_id(active): active}
        for s in old_secrets or []:
            k = derive_key(s, "field-encryption")
            keys[key_id(k)] = k
        return cls(keys=keys, active_id=key_id(active), index_key=derive_key(active_secret, "blind-index"))

    def encrypt(self, plaintext: str) -> str:
        return self.encrypt_bytes(plaintext.encode("utf-8"))

    def encrypt_for(self, kid: str, plaintext: str) -> str:
        """Sealed under one resident's data key (a v2 token)."""
        return self.encrypt_bytes(plaintext.encode("utf-8"), kid)

    def encrypt_bytes(self, data: bytes, kid: str | None = None) -> str:
        """Bytes (a photo, a PDF) as a token like a text field's: under one resident's data key
        when `kid` is given (v2) and a key ring is configured, else the global key (v1)."""
        from casecore import keys

        ring = keys.ring() if kid is not None else None
        nonce = os.urandom(12)
        if ring is None or kid is None:
            ct = AESGCM(self.keys[self.active_id]).encrypt(nonce, data, self.active_id.encode())
            return f"{_PREFIX}.{self.active_id}.{base64.urlsafe_b64encode(nonce + ct).decode()}"
        ct = AESGCM(ring.get(kid)).encrypt(nonce, data, kid.encode())
        return f"{_RESIDENT}.{kid}.{base64.urlsafe_b64encode(nonce + ct).decode()}"

    def decrypt_bytes(self, token: str) -> bytes:
        try:
            prefix, kid, payload = token.split(".", 2)
            if prefix == _RESIDENT:
                key = _resident_key(kid)
            elif prefix != _PREFIX:
                raise DecryptionError("unknown ciphertext version")
            else:
                key = self.keys[kid]
            blob = base64.urlsafe_b64decode(payload)
            return AESGCM(key).decrypt(blob[:12], blob[12:], kid.encode())
        except DecryptionError:
            raise
        except Exception as exc:  # wrong key, tampering, truncated data
            raise DecryptionError("cannot decrypt field") from exc

    def keyed_digest(self, data: bytes) -> str:
        """An HMAC-SHA256 fingerprint of personal bytes (a photo's), not a plain hash."""
        return hmac.new(self.index_key, b"media:" + data, hashlib.sha256).hexdigest()

    def decrypt(self, token: str) -> str:
        data = self.decrypt_bytes(token)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:  # a bytes field read as text
            raise DecryptionError("cannot decrypt field") from exc

    def key_id_of(self, token: str) -> str:
        return token.split(".", 2)[1]

    def blind_index(self, value: str) -> str:
        """A keyed hash so rows can be found by a personal value without storing it in clear."""
        return hmac.new(self.index_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _resident_key(kid: str) -> bytes:
    from casecore import keys

    ring = keys.ring()
    if ring is None:
        raise DecryptionError("no key store configured for resident keys")
    return ring.get(kid)


_cipher: FieldCipher | None = None


def configure(cipher: FieldCipher) -> None:
    global _cipher
    _cipher = cipher


def cipher() -> FieldCipher:
    if _cipher is None:
        raise RuntimeError("field encryption is not configured (call casecore.crypto.configure)")
    return _cipher
