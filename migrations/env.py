"""Alembic environment: our models' metadata and the configured database (never alembic.ini URLs).

SQLite cannot alter most of a table in place: `render_as_batch` makes Alembic copy and swap the
table, with foreign keys off meanwhile (a copy would otherwise trip or cascade them).
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

import models.all_models  # noqa: F401  (registers every table)
from models.base import Base, UTCDateTime
from models.db import get_engine


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Write our column types as plain SQLAlchemy types, so that migration files never import app code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations() -> None:
    connectable = context.config.attributes.get("connection") or get_engine()
    with connectable.connect() if hasattr(connectable, "connect") else connectable as connection:
        is_sqlite = connection.dialect.name == "sqlite"
        if is_sqlite:
            connection.execute(text("PRAGMA foreign_keys=OFF"))
            connection.commit()
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=is_sqlite,
            render_item=render_item,
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        if is_sqlite:
            connection.execute(text("PRAGMA foreign_keys=ON"))
            connection.commit()


run_migrations()
