"""SQLAlchemy's aiosqlite dialect with one thread round trip per statement (issue 19).

The stock adapter runs a statement as four calls to aiosqlite's connection thread (make a
cursor, execute, fetch all, close), each a queue put, a thread wake-up and a loop wake-up: on
the inbound path that was about half of each statement's CPU. Here the four run as one function
on that thread. Everything else (connections, transactions, server-side cursors, errors) is
aiosqlite's and SQLAlchemy's own; `make_engine` uses it for every SQLite URL
(`sqlite+madoguchi://`, registered on import).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
    SQLiteDialect_aiosqlite,
)
from sqlalchemy.util.concurrency import await_only

DRIVER = "madoguchi"


class _Cursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        conn = self._connection  # the aiosqlite connection
        try:
            raw = conn._conn  # the sqlite3 connection, used only on aiosqlite's thread below

            def run() -> tuple[Any, Any, int, int]:
                cur = raw.cursor()
                try:
                    cur.execute(operation, () if parameters is None else parameters)
                    if cur.description:
                        return cur.description, cur.fetchall(), -1, -1
                    return None, None, cur.lastrowid, cur.rowcount
                finally:
                    cur.close()

            description, rows, lastrowid, rowcount = self.await_(conn._execute(run))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self.description = description
        self.lastrowid, self.rowcount = lastrowid, rowcount
        if rows is not None:
            self._rows.clear()
            self._rows.extend(rows)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        conn = self._connection
        try:
            raw = conn._conn

            def run() -> tuple[int, int]:
                cur = raw.cursor()
                try:
                    cur.executemany(operation, seq_of_parameters)
                    return cur.lastrowid, cur.rowcount
                finally:
                    cur.close()

            self.lastrowid, self.rowcount = self.await_(conn._execute(run))
            self.description = None
        except Exception as error:
            self._adapt_connection._handle_exception(error)


class _Connection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()

    def cursor(self, server_side: bool = False) -> AsyncAdapt_aiosqlite_cursor:
        if server_side:
            return super().cursor(server_side=True)
        return _Cursor(self)


class _DBAPI(AsyncAdapt_aiosqlite_dbapi):
    def connect(self, *arg: Any, **kw: Any) -> AsyncAdapt_aiosqlite_connection:
        if kw.get("async_fallback") or kw.get("async_creator_fn"):
            return super().connect(*arg, **kw)
        connection = self.aiosqlite.connect(*arg, **kw)
        thread = getattr(connection, "_thread", connection)  # aiosqlite < 0.22: the connection is the thread
        thread.daemon = True
        return _Connection(self, await_only(connection))


class SQLiteDialect_madoguchi(SQLiteDialect_aiosqlite):
    driver = DRIVER
    supports_statement_cache = True

    @classmethod
    def import_dbapi(cls) -> AsyncAdapt_aiosqlite_dbapi:
        return _DBAPI(__import__("aiosqlite"), __import__("sqlite3"))


dialect = SQLiteDialect_madoguchi
registry.register(f"sqlite.{DRIVER}", __name__, "dialect")
