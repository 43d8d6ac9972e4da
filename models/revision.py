"""The schema revision a database records, read without Alembic: every command checks it, and
importing Alembic and reading the migration scripts would cost it half a second.

Migration files are named after their revision and numbered in order (`0004_figures.py` holds
revision "0004_figures"), so the newest file names the head; a test holds this against Alembic's own
view of the scripts.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import inspect, text

from models.db import get_engine

VERSIONS = Path(__file__).resolve().parents[1] / "migrations" / "versions"


def head() -> str:
    """The newest migration's revision."""
    return max(path.stem for path in VERSIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))


def is_current() -> bool:
    """Whether the configured database records the newest revision (one query when it does)."""
    with get_engine().connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return False
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar() == head()
