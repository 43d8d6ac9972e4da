"""Shared fixtures: an isolated Prefect home, the Prefect test harness and a database per test.

Fixture plugins for the SMTP sink and builders live beside this file (see `pytest_plugins`).
"""

from __future__ import annotations

import os
import tempfile

# Prefect reads these at import time: keep its state out of ~/.prefect and send no telemetry.
_PREFECT_HOME = tempfile.mkdtemp(prefix="cascade-prefect-")
os.environ.setdefault("PREFECT_HOME", _PREFECT_HOME)
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.database import ON_POSTGRESQL, isolated_database

pytest_plugins = ["tests.fixtures.smtp", "tests.fixtures.builders"]


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect server for the whole session (it takes seconds to start), on PostgreSQL."""
    from tests.fixtures.prefect_server import prefect_server

    with prefect_server():
        yield


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh workspace folder with its own database (SQLite, or PostgreSQL: tests.fixtures.database), created and empty."""
    with isolated_database(tmp_path / "workspace", monkeypatch) as ws:
        yield ws


# The longest modules, longest first (a whole cycle run command by command as processes, the demo, two
# workspaces' Prefect servers, the four-level scenario, the command server): started first, so that a
# worker is not left alone with one of them at the end.
LONGEST_FIRST = (
    "tests/test_walkthrough.py",
    "tests/test_walkthrough_examples.py",
    "tests/test_cli.py",
    "tests/test_workspace_server.py",
    "tests/flows/test_levels.py",
    "tests/test_command_server.py",
    "tests/flows/test_serve.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the longest modules first (xdist hands out modules in this order), and in the PostgreSQL pass
    (`make test-postgresql`) repeat only the tests whose database follows CASCADE_TEST_DATABASE: those
    that use the `workspace` fixture or are marked `database`. The others (pure logic, documents, and
    tests that choose their databases themselves, like the migrations' and the workers') would run
    exactly as they did in `make test`."""
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::", 1)[0], len(rank)))
    if not ON_POSTGRESQL:
        return
    keep = [item for item in items if "workspace" in getattr(item, "fixturenames", ()) or item.get_closest_marker("database")]
    if len(keep) < len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep
