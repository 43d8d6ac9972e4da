"""Engine and sessions. Nothing connects at import time: `get_engine()` builds one on first use."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import CursorResult, Engine, Result, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry

import models.all_models  # noqa: F401  (every mapped class is known before the first session: a command that imports one model still resolves the others' foreign keys)
from cascade.settings import get_settings

_engines: dict[str, Engine] = {}


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL survives a crash of the process (what the outbox guarantees are
    # about) and avoids an fsync per commit; only a power loss can drop the last commits.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def get_engine() -> Engine:
    """The engine for the configured database, one per URL per process."""
    settings = get_settings()
    url = settings.resolved_database_url
    engine = _engines.get(url)
    if engine is None:
        if url.startswith("sqlite"):
            settings.workspace.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, connect_args={"timeout": 30})
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(url, pool_pre_ping=True)
        _engines[url] = engine
    return engine


def reset_engines() -> None:
    """Dispose of every engine (tests switch databases between cases)."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()


@contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error: one transaction per block."""
    session = sessionmaker(get_engine(), expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def affected_rows(result: Result[Any]) -> int:
    """How many rows the INSERT, UPDATE or DELETE that `Session.execute` ran has changed.

    `Session.execute` is typed as returning a Result; for these statements it is a CursorResult,
    which has the count."""
    if not isinstance(result, CursorResult):
        raise TypeError(f"not the result of an INSERT, UPDATE or DELETE: {type(result).__name__}")
    return result.rowcount
