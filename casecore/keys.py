"""Per-resident data keys (crypto-shredding).

Each resident (one contact point) gets a random 256-bit data key. The key is stored only
wrapped (AES-GCM) by a master key derived from MADOGUCHI_SECRET_KEY, in a key store that is
NOT the database: a small SQLite file (`<data dir>/keys.db` unless MADOGUCHI_KEYSTORE_PATH
says otherwise). Database backups and replicas therefore hold ciphertexts only; erasing a
resident deletes their wrapped key, and every copy of their rows, old backups included,
becomes unreadable. Rotation of the master key re-wraps the data keys, never the rows.

The key store is read synchronously (a local file, keys are cached once unwrapped) because
the column types that need a key run inside SQLAlchemy's synchronous result processing.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from casecore.crypto import DecryptionError, derive_key, key_id

_SCHEMA = """
CREATE TABLE IF NOT EXISTS resident_key (
    kid TEXT PRIMARY KEY,
    scope TEXT NOT NULL,
    master_kid TEXT NOT NULL,
    wrapped BLOB NOT NULL,
    created_at TEXT NOT NULL
)"""


SPARE_BATCH = 16  # data keys made in one transaction (KeyRing.create)


class KeyDestroyed(DecryptionError):
    """The resident's data key was destroyed (erased): their data can no longer be read."""


class KeyRing:
    """The key store plus the master keys that wrap it; data keys are cached once unwrapped."""

    def __init__(self, path: Path, master_secrets: list[str]) -> None:
        self.path = Path(path)
        masters = [derive_key(s, "resident-key-wrap") for s in master_secrets]
        self.masters = {key_id(m): m for m in masters}
        self.active_master = key_id(masters[0])
        self._cache: dict[str, bytes] = {}
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._conn_pid = 0
        self._spare: dict[str, list[str]] = {}  # per scope: made, not yet handed out (this process)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._db() as db:
            db.execute(_SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        """One connection per process, kept open (opening one per new resident, with its
        pragmas, was most of a first message's key-store cost) and used under the lock."""
        with self._lock:
            if self._conn is None or self._conn_pid != os.getpid():
                db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA secure_delete=ON")  # a destroyed key's bytes are overwritten in the file
                self._conn, self._conn_pid = db, os.getpid()
                self._spare = {}  # a forked child must not hand out its parent's spares too
            yield self._conn

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._conn_pid == os.getpid():
                self._conn.close()
            self._conn = None

    def _wrap(self, kid: str, key: bytes) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(self.masters[self.active_master]).encrypt(nonce, key, kid.encode())

    def create(self, scope: str) -> str:
        """A new data key for one resident of profile `scope`; returns its id.

        Keys are made `SPARE_BATCH` at a time in one transaction, and the spares handed out to
        the next residents: each commit is an fsync (about 0.3 ms, on the event loop), which was
        most of a first message's key cost (issue 19). A spare is a random key that seals
        nothing until handed out; one another process destroyed meanwhile (a profile's erasure
        takes its unused keys too) is never handed out."""
        with self._lock, self._db() as db:
            spare = self._spare.setdefault(scope, [])
            while spare:
                kid = spare.pop()
                if db.execute("SELECT 1 FROM resident_key WHERE kid = ?", (kid,)).fetchone():
                    return kid
                self._cache.pop(kid, None)
            made = [("r" + secrets.token_hex(10), AESGCM.generate_key(bit_length=256)) for _ in range(SPARE_BATCH)]
            now = datetime.now(UTC).isoformat()
            with db:  # one transaction
                db.execute("BEGIN")
                db.executemany(
                    "INSERT INTO resident_key (kid, scope, master_kid, wrapped, created_at) VALUES (?,?,?,?,?)",
                    [(kid, scope, self.active_master, self._wrap(kid, key), now) for kid, key in made],
                )
            self._cache.update(made)
            spare.extend(kid for kid, _ in made[1:])
            return made[0][0]

    def get(self, kid: str) -> bytes:
        key = self._cache.get(kid)
        if key is not None:
            return key
        with self._db() as db:
            row = db.execute("SELECT master_kid, wrapped FROM resident_key WHERE kid = ?", (kid,)).fetchone()
        if row is None:
            raise KeyDestroyed("the resident's data key was destroyed")
        master = self.masters.get(row[0])
        if master is None:
            raise DecryptionError("the master key that wrapped this data key is not configured")
        blob = bytes(row[1])
        try:
            key = AESGCM(master).decrypt(blob[:12], blob[12:], kid.encode())
        except Exception as exc:
            raise DecryptionError("cannot unwrap data key") from exc
        with self._lock:
            self._cache[kid] = key
        return key

    def destroy(self, kids: Iterable[str]) -> int:
        """Delete these data keys for good; returns how many existed."""
        kids = [k for k in set(kids) if k]
        if not kids:
            return 0
        with self._lock, self._db() as db:
            n = 0
            for kid in kids:
                n += db.execute("DELETE FROM resident_key WHERE kid = ?", (kid,)).rowcount
                self._cache.pop(kid, None)
            gone = set(kids)
            for spare in self._spare.values():
                spare[:] = [kid for kid in spare if kid not in gone]
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # no copy of the key left in the WAL
        return n

    def kids(self, scope: str | None = None) -> list[str]:
        with self._db() as db:
            if scope is None:
                return [r[0] for r in db.execute("SELECT kid FROM resident_key")]
            return [r[0] for r in db.execute("SELECT kid FROM resident_key WHERE scope = ?", (scope,))]

    def rewrap(self) -> int:
        """Key rotation: wrap every data key under the active master key (rows stay as they are)."""
        n = 0
        with self._db() as db:
            rows = db.execute("SELECT kid FROM resident_key WHERE master_kid != ?", (self.active_master,)).fetchall()
        for (kid,) in rows:
            key = self.get(kid)
            with self._lock, self._db() as db:
                db.execute("UPDATE resident_key SET master_kid = ?, wrapped = ? WHERE kid = ?",
                           (self.active_master, self._wrap(kid, key), kid))
            n += 1
        return n


_ring: KeyRing | None = None


def configure(ring: KeyRing | None) -> None:
    global _ring
    if _ring is not None and _ring is not ring:
        _ring.close()  # its connection (a ring still held elsewhere reopens it on use)
    _ring = ring


def ring() -> KeyRing | None:
    """The configured key ring, or None (then new writes fall back to the v1 global key)."""
    return _ring


# ── plaintext tagged with the data key that must seal it ───────────────────────────────────
# The column types (casecore.types) see only the value; a value tagged with a resident key id
# is sealed as a v2 token under that resident's key. casecore.residents tags values at flush.
class SealedStr(str):
    resident_kid: str


class SealedDict(dict[str, Any]):
    resident_kid: str


class SealedList(list[Any]):
    resident_kid: str


class SealedBytes(bytes):
    resident_kid: str


def tag(value: Any, kid: str) -> Any:
    """`value` as a tagged copy (equal to it), or unchanged when it cannot carry a tag."""
    if kid_of(value) == kid:
        return value
    tagged: Any
    if isinstance(value, str):
        tagged = SealedStr(value)
    elif isinstance(value, dict):
        tagged = SealedDict(value)
    elif isinstance(value, list):
        tagged = SealedList(value)
    elif isinstance(value, bytes):
        tagged = SealedBytes(value)
    else:
        return value
    tagged.resident_kid = kid
    return tagged


def kid_of(value: Any) -> str | None:
    return getattr(value, "resident_kid", None)


def kid_of_token(token: str | None) -> str | None:
    """The resident key id a stored v2 token names (None for v1 or empty)."""
    if not token or not token.startswith("v2."):
        return None
    return token.split(".", 2)[1]
