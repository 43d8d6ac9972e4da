"""The migrations build exactly the models' schema, on SQLite and on PostgreSQL, both ways, and upgrade old databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text

import models.all_models  # noqa: F401  (registers every table)
from cascade.settings import get_settings
from models import schema as migrate
from models.base import Base
from models.db import get_engine, reset_engines
from tests.fixtures.postgres import fresh_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An empty database of each kind, configured as ours."""
    monkeypatch.setenv("CASCADE_WORKSPACE", str(tmp_path / "workspace"))
    if request.param == "sqlite":
        monkeypatch.delenv("CASCADE_DATABASE_URL", raising=False)
        database = None
    else:
        database = fresh_database("cascade_migrations")
        monkeypatch.setenv("CASCADE_DATABASE_URL", database.__enter__())
    get_settings.cache_clear()
    reset_engines()
    yield request.param
    reset_engines()
    get_settings.cache_clear()
    if database is not None:
        database.__exit__(None, None, None)


def differences() -> list[object]:
    """What the database lacks or has beyond the models (tables, columns, types, indexes, constraints)."""
    with get_engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)


def test_the_migrations_build_the_models_schema_and_undo_it(empty_database) -> None:
    assert migrate.upgrade() == migrate.head()
    assert differences() == [], "the migrations and the models disagree: write a migration (alembic revision --autogenerate)"

    migrate.downgrade("base")
    assert set(inspect(get_engine()).get_table_names()) <= {"alembic_version"}
    migrate.upgrade()
    assert differences() == []


def test_a_database_made_before_migrations_is_stamped_and_upgraded(empty_database) -> None:
    """Databases made by create_all before migrations existed hold the baseline's tables and no version."""
    migrate.upgrade(migrate.BASELINE)
    with get_engine().begin() as connection:
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(text("INSERT INTO unit (code, name, kind, emails) VALUES ('sxd', 'Sở Xây dựng', 'department', '[]')"))
    assert migrate.current() is None

    migrate.ensure_current()
    assert migrate.current() == migrate.head()
    assert differences() == []
    with get_engine().connect() as connection:
        assert connection.execute(text("SELECT code, head_email FROM unit")).all() == [("sxd", None)]


def test_create_schema_records_the_latest_revision(empty_database) -> None:
    from models.schema import create_schema

    create_schema()
    assert migrate.current() == migrate.head()
    assert differences() == []


def test_the_commands_quick_check_knows_the_head_and_what_each_database_records(empty_database) -> None:
    """`models.revision` reads the head from the file names, without Alembic: it must agree with Alembic."""
    from models import revision

    assert revision.head() == migrate.head()
    assert not revision.is_current()  # empty: no version table
    migrate.upgrade(migrate.BASELINE)
    assert not revision.is_current()
    migrate.upgrade()
    assert revision.is_current()
