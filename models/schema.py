"""Schema migrations (Alembic): bring the configured database to the models' schema.

Every command calls `ensure_current()`: an empty database is built by the migrations, a database
created before migrations existed (by `create_all`, without an `alembic_version` table) is stamped
with the baseline it matches and upgraded, and one already at head costs one query.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from models.base import Base
from models.db import get_engine

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"
BASELINE = "0001_baseline"  # the schema of every database made before migrations existed


def config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head() -> str:
    return ScriptDirectory.from_config(config()).get_current_head() or ""


def current() -> str | None:
    """The database's revision; None when it has none (empty, or made before migrations)."""
    with get_engine().connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def upgrade(revision: str = "head") -> str:
    """Upgrade to `revision` (stamping a pre-migration database with the baseline first); returns the revision reached."""
    engine = get_engine()
    if current() is None and "unit" in inspect(engine).get_table_names():
        command.stamp(config(), BASELINE)
    command.upgrade(config(), revision)
    return current() or ""


def stamp_head() -> None:
    """Record the database as at head without running anything (its tables were made from the models)."""
    command.stamp(config(), "head")


def downgrade(revision: str) -> None:
    command.downgrade(config(), revision)


def ensure_current() -> None:
    """Upgrade the database unless it is already at head."""
    if current() != head():
        upgrade()


def create_schema() -> None:
    """Create every table that does not exist yet, and record the schema as the latest migration.

    Faster than running the migrations (tests, benchmarks, the demo); `cascade db upgrade` and every
    command use the migrations, and a test checks that both give the same schema.
    """
    Base.metadata.create_all(get_engine())
    if current() is None:
        stamp_head()
